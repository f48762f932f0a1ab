"""Micro-batching: queries that arrive while the model is busy are searched together in one call.

Two rules decide, whenever the worker is free, which queued queries run next (:func:`decide`, a pure function):

- ``greedy`` (the rule before 2026-12-06): everything queued, up to ``cap`` (``--max-batch``, 64), at once. An
  idle server runs a lone request at once; under load the requests that queued during one batch form the next.
  With 50 clients on an AMX Xeon it served 143 req/s but with a p99 of 1.38 s (``benchmarks/results/serve.json``).
- ``bounded`` (the default): a batch runs when ``cap`` queries wait, or when the oldest has waited ``max_wait_s``
  (at once when no other query is due within that window, judged by the recent gaps between arrivals);
  ``cap`` is the batch size at which the search's cost per query stops falling, measured when the server starts
  (:func:`calibrate`, :func:`efficient_size`), and ``max_wait_s`` a quarter of one query's search time then (a
  lone query on an idle server pays at most that). Bigger batches than ``cap`` gain nothing per query (padding
  to the longest query, attention's cost in its length) and make every query in them wait for all of them.

Requests are grouped by a key (``k`` and the pipeline options) so a batch only ever holds queries that want
exactly the same search. The work runs on one worker thread, off the event loop; the encoder already uses every
core, so more threads would only contend.

Example:
    >>> import asyncio
    >>> async def demo():
    ...     batcher = MicroBatcher(lambda key, items: [x * key for x in items], BatchPolicy("greedy", 8, 0.0))
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
from typing import Any, Generic, Literal, TypeVar, get_args

T = TypeVar("T")
R = TypeVar("R")

BatchingRule = Literal["bounded", "greedy"]
BATCHING_RULES: tuple[BatchingRule, ...] = get_args(BatchingRule)
# A batch size counts as efficient when its cost per query is within this share of the cheapest size measured: the
# smallest such size is the cap, so a query waits for as few others as the encoder's speed allows
EFFICIENT_SLACK = 0.05
WAIT_SHARE = 0.25  # the bounded rule's longest wait for more queries, as a share of one query's search time
GAP_WEIGHT = 0.2  # weight of the newest gap between two queries' arrivals in the running mean the rule reads
CALIBRATION_REPEATS = 2  # timed passes per batch size at start-up; the fastest counts (other work only slows)


@dataclass(frozen=True)
class BatchPolicy:
    """How the worker forms batches: the rule, the most queries in one batch, and (``bounded``) the longest the
    oldest query waits for others before its batch runs."""

    rule: BatchingRule
    cap: int
    max_wait_s: float

    def __post_init__(self) -> None:
        if self.rule not in BATCHING_RULES:
            raise ValueError(f"batching rule must be one of {', '.join(BATCHING_RULES)}, got {self.rule!r}")
        if self.cap < 1:
            raise ValueError(f"a batch holds at least 1 query, got cap={self.cap}")
        if self.max_wait_s < 0:
            raise ValueError(f"max_wait_s must be at least 0, got {self.max_wait_s}")


@dataclass(frozen=True)
class Dispatch:
    """What the free worker does now: run the ``take`` oldest queued queries, or (``take`` 0) ask again after
    ``wait_s`` seconds or when a query arrives, whichever comes first (``wait_s`` None: only when one arrives)."""

    take: int
    wait_s: float | None = None


def decide(policy: BatchPolicy, queued: int, oldest_waited_s: float, arrival_gap_s: float | None = None) -> Dispatch:
    """The rule, for a free worker with ``queued`` queries waiting, the oldest for ``oldest_waited_s`` seconds, and
    queries arriving every ``arrival_gap_s`` seconds of late (None: not known yet).

    The bounded rule waits only for company it can expect: when the next query is not due before the oldest one's
    window closes (a lone client, a quiet server), the batch runs at once, so waiting costs an idle server nothing.

    >>> bounded = BatchPolicy("bounded", cap=8, max_wait_s=0.002)
    >>> decide(bounded, 8, 0.0, 0.0001), decide(bounded, 3, 0.002, 0.0001)  # full; the oldest waited long enough
    (Dispatch(take=8, wait_s=None), Dispatch(take=3, wait_s=None))
    >>> decide(bounded, 3, 0.0005, 0.0001)  # neither, and more are due: wait the rest of the oldest one's window
    Dispatch(take=0, wait_s=0.0015)
    >>> decide(bounded, 1, 0.0, 0.050), decide(bounded, 1, 0.0, None)  # none due in time, or none seen: run now
    (Dispatch(take=1, wait_s=None), Dispatch(take=1, wait_s=None))
    >>> decide(BatchPolicy("greedy", cap=64, max_wait_s=0.0), 3, 0.0)  # whatever is queued, at once
    Dispatch(take=3, wait_s=None)
    """
    if queued <= 0:
        return Dispatch(0)
    left_s = policy.max_wait_s - oldest_waited_s
    if (policy.rule == "greedy" or queued >= policy.cap or left_s <= 0
            or arrival_gap_s is None or arrival_gap_s > left_s):
        return Dispatch(min(queued, policy.cap))
    return Dispatch(0, round(left_s, 9))


def calibration_sizes(max_batch: int) -> list[int]:
    """The batch sizes :func:`calibrate` times: powers of two up to ``max_batch``, and ``max_batch`` itself.

    >>> calibration_sizes(64), calibration_sizes(12), calibration_sizes(1)
    ([1, 2, 4, 8, 16, 32, 64], [1, 2, 4, 8, 12], [1])
    """
    sizes = [1 << i for i in range(max_batch.bit_length()) if 1 << i <= max_batch]
    return sizes if sizes[-1] == max_batch else [*sizes, max_batch]


def efficient_size(seconds_per_query: dict[int, float], slack: float = EFFICIENT_SLACK) -> int:
    """The smallest batch size whose cost per query is within ``slack`` of the cheapest size's.

    With the per-query costs of MiniLM searches measured on a 2-core machine of this project while other work ran
    (ms by batch size 1: 58, 2: 47, 4: 37, 8: 38, 16: 42, 32: 48, 64: 59) that is 4; with SciFact queries timed
    by the wall clock on the loaded AVX2 Xeon of 2026-12-06, where the cost falls until 16 and then flattens (77,
    64, 43.8, 29.6, 27.5, 26.4, 26.2), 16 (timed by CPU, as :func:`calibrate` times, it kept falling to 64 there):

    >>> efficient_size({1: 58, 2: 47, 4: 37, 8: 38, 16: 42, 32: 48, 64: 59})
    4
    >>> efficient_size({1: 77, 2: 64, 4: 43.8, 8: 29.6, 16: 27.5, 32: 26.4, 64: 26.2})
    16
    """
    if not seconds_per_query:
        raise ValueError("no batch size was measured")
    cheapest = min(seconds_per_query.values())
    return min(size for size, cost in seconds_per_query.items() if cost <= cheapest * (1 + slack))


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` measured: seconds per query by batch size (the fastest of the repeats), and the
    policy they call for."""

    seconds_per_query: dict[int, float]
    policy: BatchPolicy
    seconds: float  # how long calibrating took

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.policy.rule, "cap": self.policy.cap, "max_wait_ms": round(self.policy.max_wait_s * 1e3, 3),
                "ms_per_query": {str(size): round(s * 1e3, 2) for size, s in self.seconds_per_query.items()},
                "calibration_seconds": round(self.seconds, 2)}


def calibrate(run: Callable[[Sequence[str]], Any], texts: Sequence[str], max_batch: int, *,
              repeats: int = CALIBRATION_REPEATS, max_wait_s: float | None = None,
              clock: Callable[[], float] = time.process_time) -> Calibration:
    """Time ``run(batch)`` for each of :func:`calibration_sizes` (``texts`` cycled to fill a batch), ``repeats``
    times, the sizes in turn small to large, then large to small, ...; and derive the ``bounded`` policy: the cap
    from :func:`efficient_size`, the wait from one query's time (:data:`WAIT_SHARE`) unless ``max_wait_s`` is
    given. The fastest repeat counts.

    Time is the process's CPU time, not the wall clock: on a machine shared with other work, wall-clock passes
    swing by 2x and more at random (a first serve benchmark on a loaded 2-core machine measured one query at 27 ms
    in one server and 19 ms in the next, and batch 4 slower per query than batch 2), while the CPU a search costs
    varies far less; the ``auto`` encoder probe times its passes the same way. At start-up nothing else runs in
    the process, so its CPU time is the search's."""
    if not texts:
        raise ValueError("calibration needs at least one text")
    start = clock()
    sizes = calibration_sizes(max_batch)
    best: dict[int, float] = {}
    offset = 0
    for rep in range(max(1, repeats)):
        for size in sizes if rep % 2 == 0 else sizes[::-1]:
            batch = [texts[(offset + i) % len(texts)] for i in range(size)]
            offset += size
            began = clock()
            run(batch)
            per_query = (clock() - began) / size
            best[size] = min(best.get(size, per_query), per_query)
    ordered = {size: best[size] for size in sizes}
    wait = WAIT_SHARE * ordered[1] if max_wait_s is None else max_wait_s
    return Calibration(ordered, BatchPolicy("bounded", efficient_size(ordered), wait), clock() - start)


@dataclass(frozen=True)
class Batched(Generic[R]):
    """One item's result, with how long it queued and how long its batch took."""

    value: R
    queue_s: float
    run_s: float
    batch_size: int


class MicroBatcher(Generic[T, R]):
    """Run ``fn(key, items) -> results`` (same length, same order) over the items submitted concurrently."""

    def __init__(self, fn: Callable[[Any, Sequence[T]], Sequence[R]], policy: BatchPolicy) -> None:
        self.fn, self.policy = fn, policy  # the policy may be replaced while serving (after calibration)
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._last_arrival: float | None = None
        self.arrival_gap_s: float | None = None  # running mean of the gaps between arrivals (GAP_WEIGHT)

    async def submit(self, key: Hashable, item: T) -> Batched[R]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._worker is None or self._worker.done():
            # started lazily on the loop that serves requests (a service may outlive one loop, as in tests)
            self._loop, self._queue = loop, asyncio.Queue()
            self._worker = loop.create_task(self._work())
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reasonir-search")
        future, now = loop.create_future(), time.perf_counter()
        if self._last_arrival is not None:
            gap = now - self._last_arrival
            self.arrival_gap_s = gap if self.arrival_gap_s is None else (
                GAP_WEIGHT * gap + (1 - GAP_WEIGHT) * self.arrival_gap_s)
        self._last_arrival = now
        self._queue.put_nowait((key, item, future, now))
        return await future

    async def _work(self) -> None:
        queue, loop = self._queue, asyncio.get_running_loop()
        assert queue is not None
        pending: list[tuple[Hashable, T, asyncio.Future, float]] = []  # oldest first
        while True:
            if not pending:
                pending.append(await queue.get())
            while not queue.empty():
                pending.append(queue.get_nowait())
            pending = [e for e in pending if not e[2].done()]  # a client that went away is not searched for
            if not pending:
                continue
            dispatch = decide(self.policy, len(pending), time.perf_counter() - pending[0][3], self.arrival_gap_s)
            if dispatch.take == 0:  # the bounded rule waits for more, at most until the oldest one's time is up
                try:
                    pending.append(await asyncio.wait_for(queue.get(), dispatch.wait_s))
                except asyncio.TimeoutError:
                    pass
                continue
            batch, pending = pending[:dispatch.take], pending[dispatch.take:]
            groups: dict[Hashable, list] = {}
            for entry in batch:
                groups.setdefault(entry[0], []).append(entry)
            for key, entries in groups.items():
                entries = [e for e in entries if not e[2].done()]
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
