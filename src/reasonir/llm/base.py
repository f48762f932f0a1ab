"""Synchronous conveniences shared by every backend, written once over ``achat``."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from typing import Any

from reasonir.llm.types import ChatRequest, ChatResult
from reasonir.llm.usage import UsageReport


class BaseLLM:
    """Subclasses implement ``achat``; ``chat``, ``chat_many``, ``usage`` and the context manager come from here.

    ``with load_llm() as llm: ...`` closes the backend (and stops an embedded server) at the end of the block.
    """

    model: str = "unknown"
    context_window: int | None = None  # backends that know it set it (an endpoint reports it, or it is configured)

    async def achat(self, request: ChatRequest) -> ChatResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def chat(self, request: ChatRequest) -> ChatResult:
        return next(iter(self.chat_many([request])))[1]

    def chat_many(self, requests: Sequence[ChatRequest]) -> Iterator[tuple[int, ChatResult]]:
        """Answer ``requests`` concurrently, yielding ``(index, result)`` in completion order."""
        loop = asyncio.new_event_loop()
        try:
            async def one(i: int, r: ChatRequest) -> tuple[int, ChatResult]:
                return i, await self.achat(r)

            tasks = [loop.create_task(one(i, r)) for i, r in enumerate(requests)]
            pending = set(tasks)
            while pending:
                done, pending = loop.run_until_complete(asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED))
                for t in done:
                    yield t.result()
        finally:
            for t in asyncio.all_tasks(loop):
                t.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.run_until_complete(self.aclose_loop())
            loop.close()

    async def aclose_loop(self) -> None:
        """Release resources bound to the running event loop (HTTP connection pools); a no-op by default."""

    def usage(self) -> UsageReport:
        """Requests, cache hits, retries, failures, tokens and cost so far (``.format()``, ``.as_dict()``)."""
        report = self.__dict__.get("_usage")
        if report is None:
            report = self.__dict__["_usage"] = UsageReport()
        return report

    def close(self) -> None:
        pass

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
