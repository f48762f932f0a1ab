"""How hard is a training set? ReasonIR's Figure 3c: per kind, the share of examples in which a hard negative
scores above the positive, under BM25 and under a dense retriever, beside the same share for a public-style set.

Scores (``reasonir.retrieve.scoring``): BM25 (the retrieval layer's, BRIGHT's k1=0.9, b=0.4) over an index of every
positive and negative text of the set being measured (so IDF comes from that set), and a dense model's cosine
(all-MiniLM-L6-v2 by default). An example is an error when ``max(score(query, neg)) > score(query, pos)``.

Public-style set: SciFact train claims (``qrels/train.tsv``) with their cited abstract as positive and BM25-mined
corpus negatives from the same rank window as synthesis (ranks 21-50 by default) but without a margin, as public
training sets such as BEIR's are usually mined.

Example:
    >>> from reasonir.data import TrainingRow
    >>> rows = [TrainingRow("why do cats purr", ["cats purr when content"], ["dogs bark"], kind="hq"),
    ...         TrainingRow("cats purr", ["dogs bark loudly"], ["cats purr softly"], kind="hq")]
    >>> round(difficulty_of(rows, retrievers=("bm25",))["hq"]["bm25"], 2)
    0.5
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from reasonir.data.records import TrainingRow
from reasonir.synth.config import NegativeConfig

RetrieverName = Literal["bm25", "dense"]


def _errors(rows: Sequence[TrainingRow], retriever: RetrieverName, dense_model: str | None) -> list[bool]:
    """Per row: does any negative score above the positive? Scored against the rows' own texts only."""
    from reasonir.retrieve.scoring import BM25Scorer, DenseScorer

    texts = list(dict.fromkeys(t for r in rows for t in [r.pos[0], *r.neg]))
    where = {t: i for i, t in enumerate(texts)}
    queries = [r.query for r in rows]
    if retriever == "bm25":
        matrix = BM25Scorer([], extras=texts).scores(queries)

        def score(i: int, j: int) -> float:
            return matrix[i, j]
    else:
        dense = DenseScorer([], dense_model, extras=texts, use_cache=False)
        q = dense.encode_queries(queries)

        def score(i: int, j: int) -> float:
            return float(dense.vectors[j] @ q[i])  # one dot product per pair, as the report was first measured
    return [any(score(i, where[n]) > score(i, where[row.pos[0]]) for n in row.neg) for i, row in enumerate(rows)]


def difficulty_of(rows: Sequence[TrainingRow], retrievers: Sequence[RetrieverName] = ("bm25", "dense"),
                  dense_model: str | None = None) -> dict[str, dict]:
    """Per kind: ``{"n": examples, "bm25": error rate, "dense": error rate, "bm25_written": ...}``; rows without
    negatives are left out. ``*_written`` / ``*_mined`` use only the negatives of that source (``meta.neg_source``)."""
    rows = [r for r in rows if r.neg and r.pos]
    views: dict[str, list[TrainingRow]] = {}
    for r in rows:
        views.setdefault(r.kind, []).append(r)
        sources = r.meta.get("neg_source") or []
        for source in ("written", "mined"):
            negs = [n for n, s in zip(r.neg, sources) if s == source]
            if negs:
                views.setdefault(f"{r.kind}|{source}", []).append(
                    TrainingRow(r.query, r.pos, negs, r.instruction, r.kind, r.seed_id, {}))
    out: dict[str, dict] = {}
    for name, subset in views.items():
        kind, _, source = name.partition("|")
        entry = out.setdefault(kind, {})
        suffix = f"_{source}" if source else ""
        entry[f"n{suffix}"] = len(subset)
        for retriever in retrievers:
            errors = _errors(subset, retriever, dense_model)
            entry[f"{retriever}{suffix}"] = float(np.mean(errors))
    return out


def public_rows(dataset: str | Path, n: int = 200, negatives: int = 3, config: NegativeConfig | None = None,
                split: str = "train") -> list[TrainingRow]:
    """A public-style set from a BEIR dataset's ``split`` claims: the first ``n`` queries by id, each with its
    first judged document as positive and ``negatives`` BM25-mined from the rank window (no margin)."""
    from reasonir.data import load_beir
    from reasonir.retrieve.base import document_text
    from reasonir.synth.negatives import mine
    from reasonir.synth.ranker import BM25Ranker

    ds = load_beir(dataset, split=split)
    cfg = NegativeConfig(**{**(config.__dict__ if config else {}), "margin": float("inf")})
    ranker = BM25Ranker(ds.documents)
    by_id = {d.id: d for d in ds.documents}
    rows = []
    for query in sorted(ds.queries, key=lambda q: (len(q.id), q.id))[:n]:
        pos_id = sorted(d for d, g in ds.qrels[query.id].items() if g > 0)[0]
        positive = document_text(by_id[pos_id], "row")
        exclude = set(ds.qrels[query.id])  # another judged-relevant document is no negative
        ranked = ranker.rank([query.text], [positive], [pos_id])
        mined = mine(ranked.scores[0], positive, pos_id, None, ranker, cfg, negatives + len(exclude))
        negs = [t for d, t in mined.negatives if d not in exclude][:negatives]
        rows.append(TrainingRow(query.text, [positive], negs, "", "public", pos_id, {}))
    return rows


@dataclass
class DifficultyReport:
    rows_path: str
    by_kind: dict[str, dict] = field(default_factory=dict)
    public: dict[str, dict] = field(default_factory=dict)
    public_source: str = ""

    def as_dict(self) -> dict:
        return {"rows": self.rows_path, "by_kind": self.by_kind, "public": self.public,
                "public_source": self.public_source}

    def format(self) -> str:
        retrievers = sorted({k for e in [*self.by_kind.values(), *self.public.values()] for k in e
                             if k in ("bm25", "dense")})
        head = f"{'set':24s} {'n':>5s} " + " ".join(f"{r + ' error':>12s}" for r in retrievers)
        lines = ["share of examples where a hard negative scores above the positive (ReasonIR Fig. 3c)", head]

        def add(label: str, entry: dict, suffix: str = "") -> None:
            if f"n{suffix}" not in entry:
                return
            cells = " ".join(f"{entry.get(r + suffix, float('nan')):12.3f}" for r in retrievers)
            lines.append(f"{label:24s} {entry[f'n{suffix}']:5d} {cells}")

        for kind, entry in sorted(self.by_kind.items()):
            add(kind, entry)
            add(f"  {kind}, written negs", entry, "_written")
            add(f"  {kind}, mined negs", entry, "_mined")
        for kind, entry in self.public.items():
            add(f"public ({kind})", entry)
        if self.public_source:
            lines.append(f"public: {self.public_source}")
        return "\n".join(lines)


def difficulty_report(rows_path: str | Path, *, retrievers: Sequence[RetrieverName] = ("bm25", "dense"),
                      dense_model: str | None = None, public: str | Path | None = None, public_n: int = 200,
                      public_negatives: int | None = None) -> DifficultyReport:
    """Difficulty of the rows in ``rows_path`` and, when ``public`` names a BEIR folder with train qrels, of a
    public-style set from it with as many negatives per example as the rows have on average."""
    from reasonir.data import read_training_rows

    rows = read_training_rows(rows_path)
    report = DifficultyReport(str(rows_path), difficulty_of(rows, retrievers, dense_model))
    if public is not None:
        with_negs = [r for r in rows if r.neg]
        k = public_negatives or max(1, round(np.mean([len(r.neg) for r in with_negs])) if with_negs else 3)
        pub = public_rows(public, public_n, k)
        report.public = difficulty_of(pub, retrievers, dense_model)
        report.public_source = (f"{public} train claims, first {len(pub)}, {k} BM25-mined negatives each "
                                f"(ranks {NegativeConfig.skip_top + 1}-{NegativeConfig.skip_top + NegativeConfig.window}, no margin)")
    return report

