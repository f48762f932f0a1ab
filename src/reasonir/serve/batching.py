"""Micro-batching: queries that arrive while the model is busy are searched together in one call.

There is no waiting window: a lone request goes straight to the worker, so batching costs an idle server nothing.
Under load, the requests that queued during one batch form the next one (up to ``max_batch``), which turns many
small encoder calls into few large ones. Requests are grouped by a key (``k`` and the pipeline options) so a
batch only ever holds queries that want exactly the same search. The work runs on one worker thread, off the
event loop; the encoder already uses every core, so more threads would only contend.

Example:
    >>> import asyncio
    >>> async def demo():
    ...     batcher = MicroBatcher(lambda key, items: [x * key for x in items], max_batch=8)
    ...     results = await asyncio.gather(*(batcher.submit(10, i) for i in range(3)))
    ...     await batcher.aclose()
    ...     return results
    >>> [r.value for r in asyncio.run(demo())]
    [0, 10, 20]
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Batched(Generic[R]):
    """One item's result, with how long it queued and how long its batch took."""

    value: R
    queue_s: float
    run_s: float
    batch_size: int


class MicroBatcher(Generic[T, R]):
    """Run ``fn(key, items) -> results`` (same length, same order) over the items submitted concurrently."""

    def __init__(self, fn: Callable[[Any, Sequence[T]], Sequence[R]], *, max_batch: int = 64) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.fn, self.max_batch = fn, max_batch
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def submit(self, key: Hashable, item: T) -> Batched[R]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._worker is None or self._worker.done():
            # started lazily on the loop that serves requests (a service may outlive one loop, as in tests)
            self._loop, self._queue = loop, asyncio.Queue()
            self._worker = loop.create_task(self._work())
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reasonir-search")
        future = loop.create_future()
        self._queue.put_nowait((key, item, future, time.perf_counter()))
        return await future

    async def _work(self) -> None:
        queue, loop = self._queue, asyncio.get_running_loop()
        assert queue is not None
        while True:
            pending = [await queue.get()]
            while len(pending) < self.max_batch and not queue.empty():
                pending.append(queue.get_nowait())
            groups: dict[Hashable, list] = {}
            for entry in pending:
                groups.setdefault(entry[0], []).append(entry)
            for key, entries in groups.items():
                entries = [e for e in entries if not e[2].done()]  # a client that went away is not searched for
                if not entries:
                    continue
                start = time.perf_counter()
                try:
                    results = await loop.run_in_executor(self._executor, self.fn, key, [e[1] for e in entries])
                except Exception as exc:  # noqa: BLE001 - every waiting request gets the error, the worker lives on
                    for e in entries:
                        if not e[2].done():
                            e[2].set_exception(exc)
                    continue
                run_s = time.perf_counter() - start
                for (_, _, future, queued), value in zip(entries, results):
                    if not future.done():
                        future.set_result(Batched(value, start - queued, run_s, len(entries)))

    async def aclose(self) -> None:
        """Stop the worker; a later ``submit`` starts a new one."""
        if self._worker is not None and self._loop is asyncio.get_running_loop():
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
        self._worker = self._loop = self._queue = None
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
