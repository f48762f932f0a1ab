"""``/rag``: answer a question from retrieved documents, when ``reasonir.rag`` is part of this build.

Kept to one function so that wiring a RAG entry point is a one-place change.
"""
from __future__ import annotations

import importlib
from typing import Any

from reasonir.serve.service import FeatureUnavailable, SearchService

ENTRY_POINT = "answer_question"  # reasonir.rag.answer_question(retriever, question, choices=..., k=..., llm=...)


def answer(service: SearchService, question: str, choices: list[str] | None, k: int) -> dict[str, Any]:
    """Call ``reasonir.rag``'s entry point, or raise FeatureUnavailable (HTTP 501) saying what is missing."""
    try:
        rag = importlib.import_module("reasonir.rag")
    except ImportError:
        raise FeatureUnavailable("retrieval-augmented answering is not in this build: the reasonir.rag package "
                                 "is not installed") from None
    entry = getattr(rag, ENTRY_POINT, None)
    if entry is None:
        raise FeatureUnavailable(f"reasonir.rag has no {ENTRY_POINT}() entry point for the server to call")
    return entry(service.retriever, question, choices=choices, k=k, llm=service.get_llm())
