"""An ``LLM`` whose requests are answered by Ray actors, each with its own client or engine built from a config.

``reasonir synthesize --backend ray`` hands this pool to the ordinary runner (``reasonir.synth.synthesize``) in
place of a local client: seed judging, candidate sampling and written negatives, i.e. every LLM call of every seed,
run on the workers, while the driver keeps what must see the whole job at once: the corpus ranker, round-trip
selection, duplicate and near-duplicate checks against the queries kept so far, and the job's files (``JobStore``:
append-only rows and ledger). So resume, dedupe and the rows are those of the local backend; only who answers the
requests changes. (Running whole seeds on workers would need the corpus index on every worker and would make
the cross-seed duplicate checks depend on which worker finished first.)

Each worker builds its LLM with ``reasonir.llm.load_llm(config)``: the OpenAI-compatible client (each worker with
its own connection pool and ``concurrency``), the embedded server (one per worker), or, for ``backend = "vllm"``, an
offline vLLM engine on a GPU of its own (``num_gpus=1`` per worker; wired, not tested here: no GPU in CI). Tests
pass a picklable factory instead (``functools.partial(ScriptedLLM, scripted_answers)``). A request goes to the
worker picked by a hash of its first user message, so a seed's candidates, which share the document prompt, land
on one engine and reuse its prefix cache.

Example:
    >>> from functools import partial
    >>> from reasonir.llm import ChatRequest
    >>> from reasonir.testing import ScriptedLLM
    >>> with ray_session(num_cpus=2), RayLLMPool(partial(ScriptedLLM, str), workers=2) as llm:  # doctest: +SKIP
    ...     llm.chat(ChatRequest.user("hello")).text[:12]
    'ChatRequest('
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from reasonir.llm.base import BaseLLM
from reasonir.llm.config import LLMConfig
from reasonir.llm.types import LLM, ChatRequest, ChatResult
from reasonir.llm.usage import UsageReport
from reasonir.scale.cluster import import_ray

LLMSource = LLMConfig | Callable[[], LLM]


class LLMWorker:
    """The actor: one LLM, built in the worker process; async, so one actor has many requests in flight (its
    client's own ``concurrency`` limits them)."""

    def __init__(self, source: LLMSource) -> None:
        self.source, self.llm = source, None

    def start(self) -> dict[str, Any]:
        """Build the LLM (a config error is raised here, to the driver, as the error it is)."""
        if self.llm is None:
            from reasonir.llm.loader import load_llm

            self.llm = load_llm(self.source) if isinstance(self.source, LLMConfig) else self.source()
        return {"model": self.llm.model, "context_window": self.llm.context_window}

    async def achat(self, request: ChatRequest) -> ChatResult:
        return await self.llm.achat(request)

    def usage(self) -> UsageReport:
        return self.llm.usage().snapshot()

    def close(self) -> None:
        if self.llm is not None:
            self.llm.close()


class RayLLMPool(BaseLLM):
    """``workers`` :class:`LLMWorker` actors behind the ``LLM`` protocol. Needs a Ray session
    (:func:`reasonir.scale.cluster.ray_session`); ``close()`` (or the ``with`` block) stops the actors.

    ``source`` is an :class:`LLMConfig` (what the CLI's ``--llm-*`` flags make) or a picklable factory;
    ``num_gpus`` per worker defaults to 1 for ``backend="vllm"`` and 0 otherwise.
    """

    def __init__(self, source: LLMSource, workers: int = 2, *, num_cpus: float = 1,
                 num_gpus: float | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self._ray = ray = import_ray()
        if num_gpus is None:
            num_gpus = 1 if isinstance(source, LLMConfig) and source.backend == "vllm" else 0
        gpus = ray.cluster_resources().get("GPU", 0)
        if num_gpus and gpus < num_gpus * workers:
            raise RuntimeError(f"{workers} vLLM workers need {num_gpus * workers:g} GPUs; the Ray cluster has "
                               f"{gpus:g} (use fewer --workers, or an OpenAI-compatible endpoint: --llm-backend "
                               "openai --llm-base-url URL)")
        actor = ray.remote(LLMWorker).options(num_cpus=num_cpus, num_gpus=num_gpus)
        self.actors = [actor.remote(source) for _ in range(workers)]
        try:
            info = ray.get([a.start.remote() for a in self.actors])
        except BaseException:
            self.close()
            raise
        self.model = info[0]["model"]
        self.context_window: int | None = info[0]["context_window"]

    def route(self, request: ChatRequest) -> int:
        """The worker for ``request``: by its first user message (the document prompt a seed's requests share)."""
        first = next((m["content"] for m in request.messages if m.get("role") == "user"), "")
        return int(hashlib.sha256(first.encode("utf-8", "surrogatepass")).hexdigest()[:8], 16) % len(self.actors)

    async def achat(self, request: ChatRequest) -> ChatResult:
        return await self.actors[self.route(request)].achat.remote(request)

    def usage(self) -> UsageReport:
        """The workers' usage, added up (a fresh report on every call)."""
        total = UsageReport()
        for report in self._ray.get([a.usage.remote() for a in self.actors]):
            total.prices = total.prices or report.prices
            total.merge(report)
        return total

    def close(self) -> None:
        actors, self.actors = self.__dict__.get("actors", []), []
        if not actors:
            return
        try:
            self._ray.get([a.close.remote() for a in actors], timeout=60)
        except Exception:  # noqa: BLE001 - a worker that died has nothing left to close; kill the rest anyway
            pass
        finally:
            for a in actors:
                self._ray.kill(a)
