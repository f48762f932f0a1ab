"""A scripted LLM for unit tests of parsing and control flow (every LLM path also has a real-model test)."""
from __future__ import annotations

import json
from collections.abc import Callable

from reasonir.llm.base import BaseLLM
from reasonir.llm.types import ChatRequest, ChatResult


class ScriptedLLM(BaseLLM):
    """Answers each request with ``respond(request)``; a returned dict/list is sent as JSON text.

    Example:
        >>> llm = ScriptedLLM(lambda r: {"echo": r.messages[-1]["content"]})
        >>> llm.chat(ChatRequest.user("hi")).text
        '{"echo": "hi"}'
    """

    model = "scripted"

    def __init__(self, respond: Callable[[ChatRequest], object]) -> None:
        self.respond = respond
        self.calls: list[ChatRequest] = []

    async def achat(self, request: ChatRequest) -> ChatResult:
        self.calls.append(request)
        out = self.respond(request)
        text = out if isinstance(out, str) else json.dumps(out)
        parsed = None
        if request.json_schema is not None:
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as exc:
                return ChatResult(request, text=text, error=f"invalid JSON: {exc}")
        return ChatResult(request, text=text, parsed=parsed, prompt_tokens=0, completion_tokens=len(text.split()))
