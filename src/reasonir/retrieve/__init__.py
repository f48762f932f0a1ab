"""Retrievers: ``search(queries, k) -> {qid: {docid: score}}``."""
from __future__ import annotations

from reasonir.retrieve.bm25 import BM25Retriever

__all__ = ["BM25Retriever"]
