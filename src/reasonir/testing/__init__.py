"""Test doubles that users of reasonir need: an LLM without a model, and answers to every synthesis prompt.

Shipped in the package (not only in ``tests/``) for two reasons: the runnable examples in reasonir's own docstrings
(rewriting, reranking, RAG, synthesis) must run without a model, and code built on reasonir needs the same to test
its own control flow in seconds. Everything else that tests use (local HTTP servers that misbehave on purpose, the
real embedded server as a pytest fixture) lives in the repository's ``tests/`` folder.

- :class:`ScriptedLLM`: an ``LLM`` whose answer to each request is a function of the request; JSON answers go
  through the same parsing, schema checks and usage counting as a real endpoint's.
- :func:`scripted_answers`: a deterministic, well-formed answer to every synthesis prompt (both prompt styles).

Example:
    >>> from reasonir.llm import ChatRequest
    >>> ScriptedLLM(lambda request: "Paris").chat(ChatRequest.user("Capital of France?")).text
    'Paris'
"""
from __future__ import annotations

from reasonir.testing.llm import ScriptedLLM
from reasonir.testing.synth import scripted_answers, tag_of

__all__ = ["ScriptedLLM", "scripted_answers", "tag_of"]
