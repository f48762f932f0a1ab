"""Synchronous conveniences shared by every backend, written once over ``achat``."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence

from reasonir.llm.types import ChatRequest, ChatResult


class BaseLLM:
    """Subclasses implement ``achat``; ``chat`` and ``chat_many`` come from here."""

    model: str = "unknown"

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
            loop.close()

    def usage(self) -> dict:
        return {}

    def close(self) -> None:
        pass
