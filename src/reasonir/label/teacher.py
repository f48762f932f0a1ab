"""The label teacher: a ranker stronger than the student, scoring queries against the whole corpus.

GPL's teacher (Wang et al., NAACL 2022) is a cross-encoder; with no cross-encoder at hand, reasonir's default teacher
is the hybrid that already beats the base encoder on its own: per query, BM25 (BRIGHT's k1=0.9, b=0.4) and the base
encoder's cosine are min-max normalised over the corpus and averaged (on SciFact's 809 train claims: BM25 0.694,
all-MiniLM-L6-v2 0.660, this hybrid 0.736 nDCG@10). Scores come from ``reasonir.retrieve.scoring``.

Example:
    >>> from reasonir.data import Document
    >>> docs = [Document("a", "cats purr when content"), Document("b", "dogs bark at strangers")]
    >>> Teacher(docs, ["cats purr"], TeacherConfig(kind="bm25")).scores(["why do cats purr"]).shape  # 2 + 1 extra
    (1, 3)
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from reasonir.data.records import Document
from reasonir.retrieve.scoring import BM25Scorer, CorpusScorer, DenseScorer, HybridScorer

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


class Teacher:
    """Scores queries against the corpus plus ``extras`` (texts outside it), through ``reasonir.retrieve.scoring``:
    the hybrid min-max normalises each part over the whole corpus (``over="corpus"``: a part whose scores are all
    equal adds nothing)."""

    def __init__(self, documents: Sequence[Document], extras: Sequence[str], config: TeacherConfig) -> None:
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
