"""Scoring queries against a whole corpus: the pieces that synthesis, labelling and fusion share.

A retriever answers "the top k documents"; several stages instead need *every* document's score for a query: the
round-trip check and the miner of hard negatives (``reasonir.synth.ranker``), the label teacher
(``reasonir.label``), the difficulty report (``reasonir.synth.difficulty``). They all score through this module:

- :class:`DenseScorer`: the cosine of each query with every document (unit vectors, exact inner product) through
  :class:`~reasonir.retrieve.dense.DenseRetriever`, so its embedding cache makes a second pass over a corpus free;
- :class:`BM25Scorer`: :meth:`~reasonir.retrieve.bm25.BM25Retriever.score_all`, the retrieval layer's BM25
  (BRIGHT's k1=0.9, b=0.4);
- :class:`HybridScorer`: a weighted sum of the parts, each min-max normalised per query;
- :func:`minmax`: the one normalisation rule, also behind hybrid fusion (``retrieve.hybrid``) and the rerank blend
  (``retrieve.rerank``); :func:`ranked`: the one order (score, then id); :func:`rank_of`: a score's 1-based rank.

Texts outside the corpus (an LLM-written positive) can be scored beside it: ``extras`` are indexed after the
documents, so column ``len(documents) + i`` is ``extras[i]``. Documents become text through
:func:`reasonir.retrieve.base.document_text`.

Example:
    >>> from reasonir.data import Document
    >>> docs = [Document("a", "cats purr when they are content"), Document("b", "dogs bark at strangers")]
    >>> scores = BM25Scorer(docs).scores(["why do cats purr"])
    >>> rank_of(scores[0], scores[0][0]), minmax(scores, over="corpus")[0].tolist()
    (1, [1.0, 0.0])
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, Protocol

import numpy as np

from reasonir.data.records import Document
from reasonir.retrieve.bm25 import BM25Retriever
from reasonir.retrieve.dense import DenseRetriever

Span = Literal["corpus", "results"]
EXTRA_PREFIX = "reasonir-extra-"  # ids of texts scored beside the corpus (never searched by id)


def minmax(scores: np.ndarray, over: Span) -> np.ndarray:
    """Scale each row (last axis) to [0, 1]; where a row's scores are all equal, ``over`` decides.

    ``over="corpus"``: the row holds every document of a corpus (the label teacher). All-equal scores there say
    nothing about any document (BM25 when no query term occurs in the corpus), so they map to 0 and the other part
    of a hybrid alone orders the corpus.

    ``over="results"``: the row holds the documents a retriever returned (hybrid fusion over each retriever's top k,
    the rerank blend over the reranked top k). Being returned is evidence, so all-equal scores (one hit, or ties)
    map to 1: equally good, and better than the documents the retriever did not return (which count 0).

    >>> minmax(np.array([[2.0, 4.0, 3.0], [5.0, 5.0, 5.0]]), over="corpus").tolist()
    [[0.0, 1.0, 0.5], [0.0, 0.0, 0.0]]
    >>> minmax(np.array([5.0, 5.0]), over="results").tolist()
    [1.0, 1.0]
    """
    lo = scores.min(axis=-1, keepdims=True)
    span = scores.max(axis=-1, keepdims=True) - lo
    scaled = (scores - lo) / np.where(span > 0, span, 1.0)
    return scaled if over == "corpus" else np.where(span > 0, scaled, 1.0)


def minmax_scores(scores: Mapping[str, float], over: Span) -> dict[str, float]:
    """:func:`minmax` of one query's ``{id: score}`` (a run row).

    >>> minmax_scores({"a": 9.0, "b": 1.0, "c": 5.0}, over="results")
    {'a': 1.0, 'b': 0.0, 'c': 0.5}
    """
    if not scores:
        return {}
    ids = list(scores)
    values = np.array([scores[d] for d in ids], dtype=np.float64)
    return dict(zip(ids, minmax(values, over).tolist()))


def ranked(scores: Mapping[str, float]) -> list[tuple[str, float]]:
    """``(id, score)`` best first; ties broken by id, so every stage orders a run the same way.

    >>> ranked({"b": 1.0, "a": 1.0, "c": 2.0})
    [('c', 2.0), ('a', 1.0), ('b', 1.0)]
    """
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def rank_of(row: np.ndarray, score: float, skip: int | None = None) -> int:
    """1-based rank of ``score`` among ``row``: one more than the entries scoring strictly above it, not counting
    entry ``skip`` (the positive's own corpus entry, which must not count against itself).

    >>> rank_of(np.array([0.9, 0.5, 0.7]), 0.7), rank_of(np.array([0.9, 0.5, 0.7]), 0.6, skip=0)
    (2, 2)
    """
    above = int((row > score).sum())
    if skip is not None and row[skip] > score:
        above -= 1
    return above + 1


class CorpusScorer(Protocol):
    """Scores of queries against every document: shape (queries, documents + extras)."""

    def scores(self, queries: Sequence[str]) -> np.ndarray: ...


class DenseScorer:
    """Cosine of queries with every document (and extra text) under a bi-encoder (see the module doc).

    ``model`` None: the retrieval layer's default encoder (all-MiniLM-L6-v2). ``use_cache=False`` skips the
    embedding cache (texts encoded once, e.g. a training set's own texts).
    """

    def __init__(self, documents: Sequence[Document], model: str | None = None, *, extras: Sequence[str] = (),
                 use_cache: bool = True) -> None:
        self.retriever = DenseRetriever(model, show_progress=False, use_cache=use_cache)
        parts = [self.retriever.index(documents).document_embeddings()] if documents or not extras else []
        if extras:
            parts.append(self.retriever.encode_documents(list(extras)))
        self.vectors = parts[0] if len(parts) == 1 else np.concatenate(parts)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.retriever.encode_queries(list(texts))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Texts encoded as documents (unit vectors), e.g. to score a text outside the corpus."""
        return self.retriever.encode_documents(list(texts))

    def score_vectors(self, query_vectors: np.ndarray) -> np.ndarray:
        return query_vectors @ self.vectors.T

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        return self.score_vectors(self.encode_queries(queries))


class BM25Scorer:
    """BM25 of queries against every document (and extra text), IDF from all of them (see the module doc)."""

    def __init__(self, documents: Sequence[Document], *, extras: Sequence[str] = ()) -> None:
        extra_docs = [Document(f"{EXTRA_PREFIX}{i}", t) for i, t in enumerate(extras)]
        self.size = len(documents) + len(extra_docs)
        self.retriever = BM25Retriever().index([*documents, *extra_docs])

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        if not queries:
            return np.zeros((0, self.size), dtype=np.float32)
        return np.stack([self.retriever.score_all(q) for q in queries])


class HybridScorer:
    """``sum_i w_i * minmax(part_i)`` over the corpus (float32); a single part gives its own raw scores.

    >>> bm25 = BM25Scorer([Document("a", "cats purr softly"), Document("b", "dogs bark"), Document("c", "cats hiss")])
    >>> def show(scores): return [round(s, 2) for s in scores[0].tolist()]
    >>> show(bm25.scores(["cats purr"])), show(HybridScorer([bm25, bm25], [0.5, 0.5]).scores(["cats purr"]))
    ([0.72, 0.0, 0.25], [1.0, 0.0, 0.35])
    """

    def __init__(self, parts: Sequence[CorpusScorer], weights: Sequence[float]) -> None:
        if len(parts) != len(weights) or not parts:
            raise ValueError(f"{len(weights)} weights for {len(parts)} parts")
        self.parts, self.weights = list(parts), list(weights)

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        got = [p.scores(queries) for p in self.parts]
        if len(got) == 1:
            return got[0].astype(np.float32)
        return sum(w * minmax(s, over="corpus") for w, s in zip(self.weights, got)).astype(np.float32)
