"""What the engines that run the embedded model in reasonir's own process share (``ct2``, ``openvino``).

Each keeps a worker thread that takes the requests queued since its last step, groups those that can share one
prompt evaluation, and answers them; :class:`InProcessLLM` holds the part around that worker that is the same for
both: the response cache looked up per request before anything is queued, the context-window check, the queue and
its wake-up, and closing. A subclass sets :attr:`InProcessLLM.engine` and :attr:`InProcessLLM.pending_type`,
implements :meth:`InProcessLLM.prompt` and ``_serve`` (the worker's loop), and calls :meth:`InProcessLLM.start_worker`
at the end of its ``__init__``.
"""
from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar

from reasonir.llm.base import BaseLLM
from reasonir.llm.cache import ResponseCache, cache_key
from reasonir.llm.errors import ContextWindowError
from reasonir.llm.jsonout import answer_to_result
from reasonir.llm.types import ChatRequest, ChatResult
from reasonir.llm.usage import UsageReport

# How a worker waits for the rest of a group after its first request: until no request has arrived for GATHER_S (at
# most GATHER_MAX_S). The synthesizer sends a seed's k candidates in one asyncio.gather, but each is tokenized on the
# way in: on loaded cores that spreads them over 100 ms and more, and a fixed wait split groups (each part then
# evaluates the prompt again)
GATHER_S = 0.02
GATHER_MAX_S = 0.5
# A request whose prompt leaves less room than this (or than its max_tokens, when smaller) fails at once; one with
# more room but not its whole max_tokens is answered up to the window's end, as llama-server answers it. The
# synthesizer sizes max_tokens from an estimate of the prompt that can fall short of the exact count (VL queries on
# stacks_proofs asked for 20 tokens too many), and failing those requests lost most VL rows (the demo on openvino:
# 2 of 12 VL chains kept)
MIN_ANSWER_TOKENS = 64


class InProcessLLM(BaseLLM):
    """The request side of an in-process engine (see the module docstring)."""

    engine: ClassVar[str]  # the engine's name, as --llm-embedded-engine spells it
    pending_type: ClassVar[Any]  # called as pending_type(request, prompt); has .future and .group_key
    cache: ResponseCache | None
    _usage: UsageReport

    def prompt(self, request: ChatRequest) -> Sequence[Any]:  # pragma: no cover - abstract
        """The request's prompt as the engine reads it (tokens or token ids)."""
        raise NotImplementedError

    def _serve(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def start_worker(self) -> None:
        self._pending: list[Any] = []
        self._wake = threading.Condition()
        self._closed = False
        self._worker = threading.Thread(target=self._serve, name=f"reasonir-{self.engine}", daemon=True)
        self._worker.start()

    async def achat(self, request: ChatRequest) -> ChatResult:
        key = cache_key(self.model, request) if self.cache is not None else None
        raw = self.cache.get(key) if self.cache is not None and key is not None else None
        if raw is not None:
            return answer_to_result(request, raw, model=self.model, cached=True, usage=self._usage)
        prompt = self.prompt(request)
        room = self.context_window - len(prompt)  # type: ignore[operator]
        wanted = request.sampling.max_tokens
        if room < min(wanted, MIN_ANSWER_TOKENS):
            raise ContextWindowError(f"a prompt{f' ({request.tag})' if request.tag else ''} needs {len(prompt) + wanted} "
                                     f"tokens ({len(prompt)} prompt + {wanted} max_tokens) but the window is "
                                     f"{self.context_window}")
        if room < wanted:  # the answer stops at the window's end (finish_reason "length"), as llama-server's does
            request = replace(request, sampling=replace(request.sampling, max_tokens=room))
        pending = self.pending_type(request, prompt)
        with self._wake:
            if self._closed:
                raise RuntimeError(f"the {self.engine} engine is closed")
            self._pending.append(pending)
            self._wake.notify()
        raw = await asyncio.wrap_future(pending.future)
        if self.cache is not None and key is not None:
            self.cache.put(key, self.model, raw)
        return answer_to_result(request, raw, model=self.model, cached=False, usage=self._usage)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        if self._worker.is_alive() and threading.current_thread() is not self._worker:
            self._worker.join(timeout=60)
        if self.cache is not None:
            self.cache.close()
            self.cache = None

    # ---- for the worker ------------------------------------------------------------------------------------------
    def let_group_arrive(self, gather_s: float = GATHER_S, max_s: float = GATHER_MAX_S) -> None:
        """Wait until no request has been queued for ``gather_s`` seconds (at most ``max_s``): the synthesizer sends
        a seed's k candidates together, but each is tokenized and queued on its own, so they arrive one by one."""
        deadline, seen = time.monotonic() + max_s, -1
        while time.monotonic() < deadline:
            with self._wake:
                count = len(self._pending)
            if count == seen:
                break
            seen = count
            time.sleep(gather_s)

    def take_groups(self, limit: int | None = None) -> list[list[Any]]:
        """The queued requests grouped by ``group_key`` (requests that can share one prompt evaluation), oldest
        group first; the first ``limit`` groups (None: all) leave the queue."""
        with self._wake:
            groups: dict[tuple, list[Any]] = {}
            for p in self._pending:
                groups.setdefault(p.group_key, []).append(p)
            chosen = list(groups.values())[:limit]
            taken = {id(p) for g in chosen for p in g}
            self._pending = [p for p in self._pending if id(p) not in taken]
            return chosen
