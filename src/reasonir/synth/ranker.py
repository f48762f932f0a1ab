"""One corpus ranker behind round-trip consistency, mined negatives and the false-negative guard.

Both score through ``reasonir.retrieve.scoring``. Dense (default): the base encoder (all-MiniLM-L6-v2 unless told
otherwise) over the whole corpus (its embedding cache makes a second job over the same corpus free). It scores any
text, so round-trip and the false-negative guard also cover positives and negatives the LLM wrote, and its query
embeddings find near-duplicate queries. BM25: the retrieval layer's own BM25 (BRIGHT's k1=0.9, b=0.4); it cannot
score a text outside its index, so those checks report "unknown".

Example:
    >>> from reasonir.data import Document
    >>> docs = [Document("a", "cats purr when they are content"), Document("b", "dogs bark at strangers")]
    >>> ranker = BM25Ranker(docs)
    >>> ranker.rank(["why do cats purr"], ["cats purr when they are content"], ["a"]).ranks
    [1]
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from reasonir.data.records import Document
from reasonir.retrieve.scoring import BM25Scorer, DenseScorer, rank_of


@dataclass
class Ranked:
    """Per query: the corpus scores, the positive's score and its 1-based rank (None where unknown)."""

    scores: np.ndarray  # (queries, documents)
    positive_scores: list[float | None]
    ranks: list[int | None]
    query_embeddings: np.ndarray | None = None  # dense rankers only: for near-duplicate detection


class CorpusRanker(Protocol):
    documents: list[Document]
    position: dict[str, int]

    def rank(self, queries: Sequence[str], positives: Sequence[str],
             positive_ids: Sequence[str | None]) -> Ranked: ...

    def pair_scores(self, queries: Sequence[str], texts: Sequence[str]) -> list[float | None]: ...

    def document_similarity(self, i: int, j: int) -> float | None: ...


def _ranks(scores: np.ndarray, positive_scores: list[float | None], positive_rows: list[int | None]) -> list[int | None]:
    return [None if pos is None else rank_of(row, pos, skip=own)
            for row, pos, own in zip(scores, positive_scores, positive_rows)]


class _Base:
    def __init__(self, documents: Sequence[Document]) -> None:
        self.documents = list(documents)
        self.position = {d.id: i for i, d in enumerate(self.documents)}

    def _rows(self, positive_ids: Sequence[str | None]) -> list[int | None]:
        return [self.position.get(pid) if pid is not None else None for pid in positive_ids]


class DenseRanker(_Base):
    """Exact inner product over unit vectors of the corpus (see the module doc)."""

    def __init__(self, documents: Sequence[Document], model: str | None = None) -> None:
        super().__init__(documents)
        self.scorer = DenseScorer(self.documents, model)
        self.retriever, self.embeddings = self.scorer.retriever, self.scorer.vectors

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.scorer.encode_queries(texts)

    def rank(self, queries: Sequence[str], positives: Sequence[str], positive_ids: Sequence[str | None]) -> Ranked:
        q = self.encode_queries(queries)
        scores = self.scorer.score_vectors(q)
        rows = self._rows(positive_ids)
        missing = [i for i, r in enumerate(rows) if r is None]
        pos_emb = np.zeros_like(q)
        if missing:
            pos_emb[missing] = self.scorer.encode_texts([positives[i] for i in missing])
        for i, r in enumerate(rows):
            if r is not None:
                pos_emb[i] = self.embeddings[r]
        pos_scores = [float(v) for v in (q * pos_emb).sum(axis=1)]
        return Ranked(scores, list(pos_scores), _ranks(scores, list(pos_scores), rows), q)

    def pair_scores(self, queries: Sequence[str], texts: Sequence[str]) -> list[float | None]:
        if not texts:
            return []
        q = self.encode_queries(queries)
        d = self.scorer.encode_texts(texts)
        return [float(v) for v in (q * d).sum(axis=1)]

    def document_similarity(self, i: int, j: int) -> float | None:
        return float(self.embeddings[i] @ self.embeddings[j])


class BM25Ranker(_Base):
    """BM25 through the retrieval layer; texts outside the corpus have no score here (see the module doc)."""

    def __init__(self, documents: Sequence[Document]) -> None:
        super().__init__(documents)
        self.scorer = BM25Scorer(self.documents)

    def rank(self, queries: Sequence[str], positives: Sequence[str], positive_ids: Sequence[str | None]) -> Ranked:
        scores = self.scorer.scores(queries)
        rows = self._rows(positive_ids)
        pos_scores = [float(row[r]) if r is not None else None for row, r in zip(scores, rows)]
        return Ranked(scores, pos_scores, _ranks(scores, pos_scores, rows))

    def pair_scores(self, queries: Sequence[str], texts: Sequence[str]) -> list[float | None]:
        return [None] * len(texts)

    def document_similarity(self, i: int, j: int) -> float | None:
        return None


def build_ranker(documents: Sequence[Document], kind: str = "dense", model: str | None = None) -> CorpusRanker:
    return DenseRanker(documents, model) if kind == "dense" else BM25Ranker(documents)
