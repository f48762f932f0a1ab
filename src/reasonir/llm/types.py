"""The contract every LLM step codes against: requests, results and the ``LLM`` protocol.

Synthesis, rewriting, reranking and RAG build ``ChatRequest`` objects and read ``ChatResult`` objects; which
backend answers them (an OpenAI-compatible endpoint, the embedded SmolLM2 server, a scripted test double) is
configuration, not code.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from reasonir.llm.usage import UsageReport

Message = Mapping[str, str]  # {"role": "system"|"user"|"assistant", "content": ...}


@dataclass(frozen=True)
class Sampling:
    """Sampling parameters; part of the cache key. Greedy by default so reruns are reproducible."""

    temperature: float = 0.0
    max_tokens: int = 512
    top_p: float = 1.0
    seed: int | None = 0


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion to make. ``json_schema`` asks for JSON output validated against that schema;
    ``tag`` names the job stage (e.g. "hq.query") for usage accounting and is not part of the cache key."""

    messages: tuple[Message, ...]
    sampling: Sampling = Sampling()
    json_schema: Mapping[str, Any] | None = None
    tag: str = ""

    @classmethod
    def user(cls, content: str, *, system: str | None = None, **kwargs: Any) -> ChatRequest:
        msgs: list[Message] = [{"role": "system", "content": system}] if system else []
        msgs.append({"role": "user", "content": content})
        return cls(messages=tuple(msgs), **kwargs)


@dataclass
class ChatResult:
    """The answer to one request. A per-request failure (retries exhausted, invalid JSON) is recorded in
    ``error`` rather than raised, so a batch job counts it and goes on."""

    request: ChatRequest
    text: str | None = None
    parsed: Any = None  # the validated JSON value when request.json_schema is set
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


@runtime_checkable
class LLM(Protocol):
    """What every LLM backend offers.

    ``achat`` answers one request under the backend's concurrency limit (call it from many tasks at once);
    ``chat_many`` runs a batch from synchronous code and yields ``(index, result)`` as each finishes, so a
    caller can write results as they arrive. Misconfiguration (unreachable endpoint, unknown model, missing
    key, prompt longer than the context window) raises ``LLMConfigError`` at once; per-request failures are
    returned in ``ChatResult.error``. ``model`` is the name the backend answers as; ``context_window`` the tokens
    it reads and writes at once (None: not known); ``usage()`` the requests, tokens and cost so far.
    """

    model: str
    context_window: int | None

    async def achat(self, request: ChatRequest) -> ChatResult: ...

    def chat(self, request: ChatRequest) -> ChatResult: ...

    def chat_many(self, requests: Sequence[ChatRequest]) -> Iterator[tuple[int, ChatResult]]: ...

    def usage(self) -> UsageReport: ...

    def close(self) -> None: ...
