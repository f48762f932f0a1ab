"""One LLM layer for every LLM call (synthesis, rewriting, reranking, RAG)."""
from __future__ import annotations

from reasonir.llm.base import BaseLLM
from reasonir.llm.scripted import ScriptedLLM
from reasonir.llm.types import LLM, ChatRequest, ChatResult, Message, Sampling

__all__ = ["LLM", "BaseLLM", "ChatRequest", "ChatResult", "Message", "Sampling", "ScriptedLLM"]
