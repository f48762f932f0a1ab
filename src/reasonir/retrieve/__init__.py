"""Retrievers: ``index(documents)`` then ``search(queries, k) -> {qid: {docid: score}}``.

BM25 (bm25s), dense (sentence-transformers + FAISS), hybrid (weighted or RRF fusion), saved indexes and an
embedding cache, and the :class:`Pipeline` that later wraps query rewriting and reranking.
"""
from __future__ import annotations

from reasonir.retrieve.base import Retriever, Run, document_text
from reasonir.retrieve.bm25 import BM25Config, BM25Retriever
from reasonir.retrieve.cache import EmbeddingCache, default_cache_dir
from reasonir.retrieve.dense import DenseRetriever
from reasonir.retrieve.factory import RetrieverKind, make_retriever
from reasonir.retrieve.hybrid import HybridRetriever, fuse_rrf, fuse_weighted
from reasonir.retrieve.pipeline import Pipeline, QueryTransform, RunTransform
from reasonir.retrieve.store import is_index, load_index, lookup_documents

__all__ = [
    "BM25Config", "BM25Retriever", "DenseRetriever", "EmbeddingCache", "HybridRetriever", "Pipeline",
    "QueryTransform", "Retriever", "RetrieverKind", "Run", "RunTransform", "default_cache_dir", "document_text",
    "fuse_rrf", "fuse_weighted", "is_index", "load_index", "lookup_documents", "make_retriever",
]
