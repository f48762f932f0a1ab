"""Structured output: ask the endpoint for JSON, read it back tolerantly, validate it against the request's schema.

Endpoints differ in how they take a schema, so the request format is a ``JsonMode``:

* ``json_schema``: OpenAI's ``{"type": "json_schema", "json_schema": {"name", "schema"}}`` (OpenAI, vLLM, SGLang,
  llama.cpp's C++ server, Ollama >= 0.5);
* ``json_object_schema``: ``{"type": "json_object", "schema": ...}`` (llama-cpp-python's Python server and others
  that compile the schema into a grammar this way);
* ``json_object``: plain JSON mode; ``none``: no response_format (the prompt must ask for JSON).

``auto`` starts at ``json_schema`` and steps down when the endpoint refuses a format (see ``FALLBACK``).

Models wrap JSON in code fences or prose; ``parse_json`` finds the value anyway:

    >>> parse_json('Sure! ```json\\n{"query": "why", "n": [1, 2,],}\\n``` Hope it helps.')
    {'query': 'why', 'n': [1, 2]}
    >>> validation_error({"query": 3}, {"type": "object", "properties": {"query": {"type": "string"}}})
    "schema: at $.query: 3 is not of type 'string'"
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from reasonir.llm.config import JsonMode
from reasonir.llm.types import ChatRequest, ChatResult
from reasonir.llm.usage import UsageReport

# the steps ``auto`` takes down when an endpoint refuses a format; an explicitly chosen mode is never changed
FALLBACK: dict[str, JsonMode] = {"auto": "json_object_schema", "json_object_schema": "json_object",
                                 "json_object": "none"}
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def response_format(schema: Mapping[str, Any] | None, mode: JsonMode) -> dict[str, Any] | None:
    """The ``response_format`` body field for ``mode`` (None: send none)."""
    if schema is None or mode == "none":
        return None
    if mode in ("auto", "json_schema"):
        return {"type": "json_schema", "json_schema": {"name": "response", "schema": dict(schema), "strict": False}}
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": dict(schema)}
    return {"type": "json_object"}


def parse_json(text: str) -> Any:
    """The first JSON object or array in ``text``: code fences, prose around it and trailing commas are tolerated.

    Raises ``ValueError`` when no JSON value can be read.
    """
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        for attempt in (candidate, _TRAILING_COMMA.sub(r"\1", candidate)):
            attempt = attempt.strip()
            try:
                return json.loads(attempt)
            except ValueError:
                pass
            for start in (i for i, ch in enumerate(attempt) if ch in "{["):  # text around the value
                try:
                    return decoder.raw_decode(attempt, start)[0]
                except ValueError:
                    continue
    raise ValueError(f"no JSON value in the answer: {text[:80]!r}")


def validation_error(value: Any, schema: Mapping[str, Any]) -> str | None:
    """None when ``value`` satisfies ``schema``; otherwise one line naming where and why it does not."""
    import jsonschema

    validator_cls = jsonschema.validators.validator_for(schema)
    error = jsonschema.exceptions.best_match(validator_cls(schema).iter_errors(value))
    if error is None:
        return None
    return f"schema: at {error.json_path}: {error.message}"


def read_structured(text: str, schema: Mapping[str, Any]) -> tuple[Any, str | None]:
    """``(value, None)`` for a valid answer, ``(None, error)`` otherwise; never raises."""
    try:
        value = parse_json(text)
    except ValueError as exc:
        return None, f"invalid JSON: {exc}"
    error = validation_error(value, schema)
    return (None, error) if error else (value, None)


def answer_to_result(request: ChatRequest, raw: dict[str, Any], *, model: str, cached: bool,
                     usage: UsageReport) -> ChatResult:
    """Turn a backend's raw answer (text, token counts, finish reason) into a ``ChatResult``, counting it in
    ``usage`` and, when the request asked for JSON, parsing and validating it (failures counted, not raised)."""
    usage.record_answer(model, request.tag, prompt_tokens=raw["prompt_tokens"],
                        completion_tokens=raw["completion_tokens"], cached=cached)
    result = ChatResult(request, text=raw["text"], prompt_tokens=raw["prompt_tokens"],
                        completion_tokens=raw["completion_tokens"], cached=cached,
                        meta={"finish_reason": raw.get("finish_reason"), "model": model})
    if request.json_schema is not None:
        result.parsed, result.error = read_structured(raw["text"], request.json_schema)
        if result.error:
            kind = "invalid_json" if result.error.startswith("invalid JSON") else "schema"
            usage.record_failure(model, request.tag, kind, answered=True)
    return result
