"""A scripted LLM for unit tests of parsing and control flow (every LLM path also has a real-model test)."""
from __future__ import annotations

import json
from collections.abc import Callable

from reasonir.llm.base import BaseLLM
from reasonir.llm.jsonout import read_structured
from reasonir.llm.types import ChatRequest, ChatResult


class ScriptedLLM(BaseLLM):
    """Answers each request with ``respond(request)``; a returned dict/list is sent as JSON text.

    JSON answers go through the same tolerant parsing and schema validation as a real endpoint's, and usage is
    counted the same way, so control flow tested here behaves as it will against a server.

    Example:
        >>> llm = ScriptedLLM(lambda r: {"echo": r.messages[-1]["content"]})
        >>> llm.chat(ChatRequest.user("hi")).text
        '{"echo": "hi"}'
        >>> llm.usage().requests
        1
    """

    model = "scripted"

    def __init__(self, respond: Callable[[ChatRequest], object]) -> None:
        self.respond = respond
        self.calls: list[ChatRequest] = []

    async def achat(self, request: ChatRequest) -> ChatResult:
        self.calls.append(request)
        out = self.respond(request)
        text = out if isinstance(out, str) else json.dumps(out)
        completion_tokens = len(text.split())
        self.usage().record_answer(self.model, request.tag, completion_tokens=completion_tokens)
        parsed, error = None, None
        if request.json_schema is not None:
            parsed, error = read_structured(text, request.json_schema)
            if error:
                kind = "invalid_json" if error.startswith("invalid JSON") else "schema"
                self.usage().record_failure(self.model, request.tag, kind, answered=True)  # type: ignore[arg-type]
        return ChatResult(request, text=text, parsed=parsed, error=error, prompt_tokens=0,
                          completion_tokens=completion_tokens)
