"""BEIR layout: corpus.jsonl, queries.jsonl, qrels/<split>.tsv."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from reasonir.data.errors import DataError
from reasonir.data.jsonl import read_jsonl
from reasonir.data.records import Dataset, Document, Query


def _unique(path: Path, items: Iterator[tuple[int, str, object]]) -> list:
    seen: set[str] = set()
    out = []
    for lineno, key, item in items:
        if key in seen:
            raise DataError(path, lineno, "_id", f"duplicate id {key!r}")
        seen.add(key)
        out.append(item)
    return out


def load_beir(folder: str | Path, split: str = "test") -> Dataset:
    """Load a BEIR dataset folder; only queries judged in ``split`` are kept.

    Example:
        >>> ds = load_beir("../shared/data/scifact")  # doctest: +SKIP
    """
    folder = Path(folder)
    corpus_path, queries_path = folder / "corpus.jsonl", folder / "queries.jsonl"
    qrels_path = folder / "qrels" / f"{split}.tsv"
    docs = _unique(corpus_path, (
        (n, str(o["_id"]), Document(str(o["_id"]), str(o.get("text", "")), str(o.get("title", ""))))
        for n, o in read_jsonl(corpus_path, ("_id", "text"))
    ))
    if not docs:
        raise DataError(corpus_path, None, None, "empty corpus")
    queries = _unique(queries_path, (
        (n, str(o["_id"]), Query(str(o["_id"]), str(o["text"]))) for n, o in read_jsonl(queries_path, ("_id", "text"))
    ))
    doc_ids = {d.id for d in docs}
    query_ids = {q.id for q in queries}
    qrels: dict[str, dict[str, int]] = {}
    with open(qrels_path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            parts = line.rstrip("\n").split("\t")
            if lineno == 1 and parts[0] == "query-id":
                continue
            if len(parts) != 3:
                raise DataError(qrels_path, lineno, None, "expected query-id<TAB>corpus-id<TAB>score")
            qid, did, score = parts
            if qid not in query_ids:
                raise DataError(qrels_path, lineno, "query-id", f"unknown query id {qid!r}")
            if did not in doc_ids:
                raise DataError(qrels_path, lineno, "corpus-id", f"unknown document id {did!r}")
            try:
                qrels.setdefault(qid, {})[did] = int(score)
            except ValueError:
                raise DataError(qrels_path, lineno, "score", f"not an integer: {score!r}") from None
    return Dataset(docs, [q for q in queries if q.id in qrels], qrels)
