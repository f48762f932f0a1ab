"""Runs (``{qid: {docid: score}}``): BRIGHT's post-processing and TREC run files.

TREC run format, one line per retrieved document: ``qid Q0 docid rank score tag`` (whitespace separated).

Example:
    >>> prepare_run({"q": {"a": 3.0, "b": 2.0, "c": 1.0}}, {"q": ("a",)}, k=1)
    {'q': {'b': 2.0}}
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from reasonir.data.atomic import atomic_open
from reasonir.data.errors import DataError
from reasonir.data.records import Query
from reasonir.retrieve.base import Run

TOP_K = 1000  # BRIGHT and BEIR keep each query's top 1000


def ranked(scores: Mapping[str, float]) -> list[tuple[str, float]]:
    """Best first; ties broken by document id so that every tool sees the same order."""
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def prepare_run(run: Run, excluded: Mapping[str, Sequence[str]] | Sequence[Query] | None = None,
                k: int = TOP_K, *, ignore_identical_ids: bool = False) -> Run:
    """Remove each query's excluded ids, then keep its top ``k`` (BRIGHT's order of the two steps).

    ``ignore_identical_ids`` also removes a document whose id equals the query's id (BEIR's
    ``ignore_identical_ids``, for corpora that contain the queries themselves, e.g. ArguAna, Quora); off by
    default, as BRIGHT does.

    >>> prepare_run({"q": {"q": 9.0, "b": 2.0}}, ignore_identical_ids=True)
    {'q': {'b': 2.0}}
    """
    if excluded is not None and not isinstance(excluded, Mapping):
        excluded = {q.id: q.excluded_ids for q in excluded}
    excluded = excluded or {}
    out: Run = {}
    for qid, scores in run.items():
        drop = set(excluded.get(qid, ())) | ({qid} if ignore_identical_ids else set())
        out[qid] = dict([(d, s) for d, s in ranked(scores) if d not in drop][:k])
    return out


def write_trec_run(run: Run, path: str | Path, tag: str = "reasonir", *, overwrite: bool = False) -> Path:
    """Write ``run`` as a TREC run file, atomically; refuses to replace an existing file unless ``overwrite``."""
    if any(ch.isspace() for ch in tag) or not tag:
        raise ValueError(f"run tag {tag!r} must be one word")
    with atomic_open(path, overwrite=overwrite) as fh:
        for qid in sorted(run):
            for rank, (doc, score) in enumerate(ranked(run[qid]), start=1):
                fh.write(f"{qid} Q0 {doc} {rank} {score!r} {tag}\n")
    return Path(path)


def read_trec_run(path: str | Path) -> Run:
    """Read a TREC run file; a bad line raises DataError naming the file, line and field."""
    path = Path(path)
    run: Run = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 6:
                raise DataError(path, lineno, None, f"expected 6 fields 'qid Q0 docid rank score tag', got {len(parts)}")
            qid, _, doc, rank, score, _ = parts
            try:
                int(rank)
            except ValueError:
                raise DataError(path, lineno, "rank", f"not an integer: {rank!r}") from None
            try:
                value = float(score)
            except ValueError:
                raise DataError(path, lineno, "score", f"not a number: {score!r}") from None
            if doc in run.setdefault(qid, {}):
                raise DataError(path, lineno, "docid", f"document {doc!r} listed twice for query {qid!r}")
            run[qid][doc] = value
    return run
