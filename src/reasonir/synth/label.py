"""Pseudo-labels: a teacher ranker scores each row's positive against a list of corpus documents, for distillation.

A small LLM writes many questions that are vague, off target or answered by several documents; one-hot labels
("the seed document is right, everything else is wrong") then teach the encoder noise, and filtering them away
leaves few rows the encoder did not already get right. GPL (Wang et al., NAACL 2022) instead lets a stronger
teacher score each generated query against its positive and against mined candidates, and trains the student to
reproduce the teacher's scores. GPL's teacher is a cross-encoder; with no cross-encoder at hand, reasonir's default
teacher is the hybrid that already beats the base encoder on its own: per query, BM25 (BRIGHT's k1=0.9, b=0.4) and
the base encoder's cosine are min-max normalised over the corpus and averaged (on SciFact's 809 train claims: BM25
0.694, all-MiniLM-L6-v2 0.660, this hybrid 0.736 nDCG@10).

Each labelled row keeps its query and positive; its negatives become the row's own negatives (written and mined,
scored too) followed by documents sampled from the teacher's top ``pool`` until there are ``candidates - 1``; the
teacher's scores go into FlagEmbedding's ``pos_scores`` / ``neg_scores`` (kept in ``meta``), which
``reasonir train`` reads as distillation targets. A row whose positive the teacher ranks below ``keep_k`` in the
corpus is dropped (the teacher's round-trip check). Texts that are not corpus documents (LLM-written positives and
negatives) are indexed beside the corpus so the teacher can score them; candidates come from the corpus only.

Example:
    >>> from reasonir.data import Document
    >>> from reasonir.data.records import TrainingRow
    >>> docs = [Document("a", "cats purr when they are content and relaxed"),
    ...         Document("b", "dogs bark at strangers near the house"),
    ...         Document("c", "parrots copy the words they hear often")]
    >>> rows = [TrainingRow("why do cats purr", ["cats purr when they are content and relaxed"])]
    >>> labelled = label_rows(rows, docs, TeacherConfig(kind="bm25", candidates=3, pool=2))
    >>> len(labelled.rows[0].neg), labelled.rows[0].meta["teacher_rank"]
    (2, 1)
"""
from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from reasonir.data.records import Document, TrainingRow

TeacherKind = Literal["hybrid", "dense", "bm25"]


@dataclass
class TeacherConfig:
    """How the teacher scores and which candidates each labelled row gets."""

    kind: TeacherKind = "hybrid"
    # hybrid: w * dense + (1 - w) * BM25, each min-max normalised per query. On SciFact's train claims w 0.3 / 0.4 /
    # 0.5 / 0.6 / 0.7 score 0.722 / 0.730 / 0.736 / 0.738 / 0.735 nDCG@10 (benchmarks/bench_teacher_scifact.py)
    dense_weight: float = 0.5
    dense_model: str | None = None  # None: the retrieval layer's default encoder (all-MiniLM-L6-v2)
    # texts scored per query: the positive and candidates - 1 negatives. 8: on SciFact's train claims 8 texts (and 2
    # epochs) gave dev +0.012 nDCG@10 where 4 (1 epoch) gave +0.004 (benchmarks/explore_distill_scifact.py)
    candidates: int = 8
    pool: int = 30  # negatives are sampled from the teacher's top ``pool`` corpus documents
    # drop a row whose positive the teacher ranks below this (None: keep every row); keeping all 1,171 SciFact
    # questions instead of the 253 in the top 10 (at lr 5e-5) lost 0.013 dev nDCG@10 (explore_distill_scifact.py)
    keep_k: int | None = 10
    seed: int = 0
    chunk: int = 256  # queries scored at once (memory: chunk x corpus floats per retriever)

    def __post_init__(self) -> None:
        if self.kind not in ("hybrid", "dense", "bm25"):
            raise ValueError(f"unknown teacher {self.kind!r}; expected hybrid, dense or bm25")
        if self.candidates < 2:
            raise ValueError("candidates must be at least 2 (a positive and a negative)")
        if self.pool < self.candidates - 1:
            raise ValueError(f"pool ({self.pool}) must hold at least candidates - 1 ({self.candidates - 1}) documents")
        if not 0 <= self.dense_weight <= 1:
            raise ValueError("dense_weight must be in [0, 1]")

    def describe(self) -> str:
        return f"hybrid(dense {self.dense_weight:g}, bm25 {1 - self.dense_weight:g})" if self.kind == "hybrid" \
            else self.kind


@dataclass
class LabelReport:
    rows: list[TrainingRow]
    rows_in: int
    dropped: Counter = field(default_factory=Counter)
    teacher_ranks: list[int] = field(default_factory=list)  # of every row read, kept or not

    def summary(self) -> dict:
        ranks = np.asarray(self.teacher_ranks or [0])
        return {"rows_in": self.rows_in, "rows_out": len(self.rows), "dropped": dict(self.dropped),
                "positive_teacher_rank": {f"<={k}": int((ranks <= k).sum()) for k in (1, 10, 100)}}


class Teacher:
    """Scores queries against the corpus plus ``extras`` (texts outside it), through ``reasonir.retrieve.scoring``:
    the hybrid min-max normalises each part over the whole corpus (``over="corpus"``: a part whose scores are all
    equal adds nothing)."""

    def __init__(self, documents: Sequence[Document], extras: Sequence[str], config: TeacherConfig) -> None:
        from reasonir.retrieve.scoring import BM25Scorer, CorpusScorer, DenseScorer, HybridScorer

        self.config = config
        hybrid = config.kind == "hybrid"
        parts: list[CorpusScorer] = []
        weights: list[float] = []
        if config.kind in ("hybrid", "dense"):
            parts.append(DenseScorer(documents, config.dense_model, extras=extras))
            weights.append(config.dense_weight if hybrid else 1.0)
        if config.kind in ("hybrid", "bm25"):
            parts.append(BM25Scorer(documents, extras=extras))
            weights.append(1 - config.dense_weight if hybrid else 1.0)
        self.scorer = HybridScorer(parts, weights)

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        """(queries, corpus + extras) teacher scores in [0, 1] (hybrid) or the retriever's own scale."""
        return self.scorer.scores(queries)


def _row_rng(seed: int, row: TrainingRow, number: int) -> np.random.Generator:
    key = f"{seed}:{row.seed_id}:{number}:{row.query}".encode()
    return np.random.default_rng(int.from_bytes(hashlib.sha256(key).digest()[:8], "little"))


def label_rows(rows: Sequence[TrainingRow], documents: Sequence[Document],
               config: TeacherConfig | None = None) -> LabelReport:
    """Teacher scores for each row's positive and ``candidates - 1`` negatives (see the module doc)."""
    from reasonir.retrieve.base import document_text
    from reasonir.retrieve.scoring import rank_of

    config = config or TeacherConfig()
    texts = [document_text(d) for d in documents]
    position = {t: i for i, t in enumerate(texts)}
    extras: list[str] = []
    for row in rows:
        for text in (row.pos[0], *row.neg):
            if text not in position:
                position[text] = len(texts) + len(extras)
                extras.append(text)
    teacher = Teacher(documents, extras, config)
    all_texts = texts + extras
    report = LabelReport([], len(rows))
    n = len(texts)
    for start in range(0, len(rows), config.chunk):
        chunk = rows[start:start + config.chunk]
        scores = teacher.scores([r.query for r in chunk])
        for offset, (row, row_scores) in enumerate(zip(chunk, scores)):
            pos = position[row.pos[0]]
            corpus = row_scores[:n]
            rank = rank_of(corpus, row_scores[pos])  # among corpus documents (the positive may be one)
            report.teacher_ranks.append(rank)
            if config.keep_k is not None and rank > config.keep_k:
                report.dropped["teacher_rank"] += 1
                continue
            own = [position[t] for t in dict.fromkeys(row.neg) if position[t] != pos][: config.candidates - 1]
            taken = {pos, *own}
            pool = [int(j) for j in np.argsort(-corpus, kind="stable")[: config.pool + len(taken)]
                    if int(j) not in taken and texts[int(j)] != row.pos[0]][: config.pool]
            want = config.candidates - 1 - len(own)
            if len(pool) < want:
                report.dropped["too_few_candidates"] += 1
                continue
            rng = _row_rng(config.seed, row, start + offset)
            sampled = [pool[i] for i in sorted(rng.choice(len(pool), size=want, replace=False))]
            negatives = own + sampled
            meta = {**row.meta, "pos_scores": [round(float(row_scores[pos]), 5)],
                    "neg_scores": [round(float(row_scores[j]), 5) for j in negatives],
                    "teacher": config.describe(), "teacher_rank": rank}
            report.rows.append(replace(row, neg=[all_texts[j] for j in negatives], meta=meta))
    return report
