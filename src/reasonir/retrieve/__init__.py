"""Retrievers: ``index(documents)`` then ``search(queries, k) -> {qid: {docid: score}}``.

BM25 (bm25s), dense (sentence-transformers + FAISS), hybrid (weighted or RRF fusion), saved indexes and an
embedding cache, and the :class:`Pipeline` that wraps LLM query rewriting (:class:`QueryRewriter`) and reranking
(:class:`LLMReranker`, :class:`CrossEncoderReranker`), reporting per query the compute each stage costs.
"""
from __future__ import annotations

from reasonir.llm.sizes import llm_parameters
from reasonir.retrieve.base import Retriever, Run, document_text
from reasonir.retrieve.bm25 import BM25Config, BM25Retriever
from reasonir.retrieve.cache import EmbeddingCache, default_cache_dir
from reasonir.retrieve.dense import DenseRetriever
from reasonir.retrieve.factory import RetrieverKind, make_retriever
from reasonir.retrieve.hybrid import HybridRetriever, fuse_rrf, fuse_weighted
from reasonir.retrieve.compute import StageCompute, flops
from reasonir.retrieve.pipeline import Pipeline, SearchDetails, build_pipeline
from reasonir.retrieve.rerank import CrossEncoderReranker, LLMReranker
from reasonir.retrieve.rewrite import QueryRewriter
from reasonir.retrieve.steps import QueryTransform, Reranker, Rewriting, RunTransform
from reasonir.retrieve.store import is_index, load_index, lookup_documents

__all__ = [
    "BM25Config", "BM25Retriever", "CrossEncoderReranker", "DenseRetriever", "EmbeddingCache", "HybridRetriever",
    "LLMReranker", "Pipeline", "QueryRewriter", "QueryTransform", "Reranker", "Retriever", "RetrieverKind",
    "Rewriting", "Run", "RunTransform", "SearchDetails", "StageCompute", "build_pipeline", "default_cache_dir",
    "document_text", "flops", "fuse_rrf", "fuse_weighted", "is_index", "llm_parameters", "load_index",
    "lookup_documents", "make_retriever",
]
