"""Build a retriever from a kind name, as the CLI does."""
from __future__ import annotations

from typing import Any, Literal

from reasonir.retrieve.base import Retriever

RetrieverKind = Literal["bm25", "dense", "hybrid"]
_HYBRID_KEYS = ("weights", "method", "rrf_k")


def make_retriever(kind: RetrieverKind, model: Any = None, **kw: Any) -> Retriever:
    """``bm25`` takes BM25Config fields; ``dense`` takes DenseRetriever options; ``hybrid`` is BM25 + dense
    (``weights``, ``method``, ``rrf_k`` go to the fusion, everything else to the dense part).

    Example:
        >>> type(make_retriever("bm25", k1=1.2)).__name__
        'BM25Retriever'
    """
    from reasonir.retrieve.bm25 import BM25Config, BM25Retriever

    if kind == "bm25":
        return BM25Retriever(BM25Config(**kw))
    from reasonir.retrieve.dense import DenseRetriever

    if kind == "dense":
        return DenseRetriever(model, **kw)
    if kind == "hybrid":
        from reasonir.retrieve.hybrid import HybridRetriever

        fusion = {key: kw.pop(key) for key in _HYBRID_KEYS if key in kw}
        return HybridRetriever([BM25Retriever(), DenseRetriever(model, **kw)], **fusion)
    raise ValueError(f"unknown retriever kind {kind!r}; expected bm25, dense or hybrid")
