"""What the server serves, without HTTP: an index loaded once, its documents, and batched searches over it.

``SearchService`` is also a Python API of its own: ``await service.search("query", k=10)`` returns what
``/search`` returns, so the HTTP layer only parses, checks and serialises.

Example:
    >>> import asyncio
    >>> service = SearchService.from_index("examples/scifact-index")  # doctest: +SKIP
    >>> asyncio.run(service.search("vitamin D and bone density", k=3)).hits[0].id  # doctest: +SKIP
    '...'
"""
from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from reasonir.data.records import Document, Query
from reasonir.serve.batching import BatchPolicy, Calibration, MicroBatcher, calibrate
from reasonir.serve.config import ServeConfig

Rerank = Literal["none", "llm", "cross-encoder"]


class FeatureUnavailable(RuntimeError):
    """A request asks for something this build cannot do (HTTP 501)."""


@dataclass(frozen=True)
class Hit:
    rank: int
    id: str
    score: float
    title: str
    snippet: str


@dataclass
class SearchResult:
    query: str
    k: int
    hits: list[Hit]
    rewritten_query: str | None = None
    compute: dict[str, dict] = field(default_factory=dict)  # stage -> {prompt_tokens, ..., flops}, when known
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class _Outcome:
    """One query's part of a batch: its ranked hits and what the pipeline reported about it."""

    ranked: list[tuple[str, float]]
    rewritten: str | None
    compute: dict[str, dict]
    stage_seconds: dict[str, float]


def _pipeline(retriever: Any, *, rewrite: bool, rerank: Rerank, llm: Callable[[], Any], cross_encoder: Any) -> Any:
    """Turn request flags into a pipeline (``reasonir.retrieve.pipeline.build_pipeline``).

    ``llm`` is called only when a stage needs an LLM, so a server that never rewrites never starts one. A request
    for a stage the server was not given a model for is :class:`FeatureUnavailable` (HTTP 501), not a crash.
    """
    from reasonir.retrieve.pipeline import build_pipeline

    if rerank == "cross-encoder" and cross_encoder is None:
        raise FeatureUnavailable("this server has no cross-encoder: start it with --cross-encoder NAME_OR_FOLDER")
    needs_llm = rewrite or rerank == "llm"
    return build_pipeline(retriever, llm=llm() if needs_llm else None, rewrite=rewrite, rerank=rerank,
                          cross_encoder=cross_encoder)


def _search(pipeline: Any, queries: Sequence[Query], k: int) -> list[_Outcome]:
    """Search, using ``search_detailed`` (rewrites, compute per stage, stage seconds) when the pipeline has it."""
    from reasonir.evaluate.runs import ranked

    if hasattr(pipeline, "search_detailed"):
        details = pipeline.search_detailed(list(queries), k=k)
        run, rewrites, compute, seconds = details.run, details.rewrites, details.compute, details.seconds
    else:
        run, rewrites, compute, seconds = pipeline.search(list(queries), k=k), {}, {}, {}
    return [_Outcome(ranked(run.get(q.id, {}))[:k], rewrites.get(q.id), compute.get(q.id, {}), dict(seconds))
            for q in queries]


def snippet(text: str, limit: int) -> str:
    """The start of ``text`` on one line, cut at a word boundary.

    >>> snippet("Vitamin  D\\nhelps bones grow strong", 18)
    'Vitamin D helps…'
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(" ,.;:") + "…"


def set_threads(n: int) -> None:
    """Threads for encoding (torch) and vector search (FAISS). On a machine busy with other work, 1 thread can be
    many times faster than 2: idle OpenMP threads spin waiting for cores that other processes hold."""
    import importlib.util

    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.set_num_threads(n)
    if importlib.util.find_spec("faiss") is not None:
        import faiss

        faiss.omp_set_num_threads(n)


class SearchService:
    """A loaded retriever with its documents, searched in micro-batches on one worker thread.

    ``llm_factory`` starts the LLM that rewriting, LLM reranking and ``/rag`` use (on first need; None: those
    answer 501). ``cross_encoder`` is a loaded sentence-transformers ``CrossEncoder`` for ``rerank="cross-encoder"``
    (None: that answers 501).
    """

    def __init__(self, retriever: Any, documents: dict[str, Document], *, config: ServeConfig | None = None,
                 kind: str = "unknown", index_dir: str | None = None,
                 llm_factory: Callable[[], Any] | None = None, cross_encoder: Any = None) -> None:
        self.retriever, self.documents, self.kind, self.index_dir = retriever, documents, kind, index_dir
        self.config = config or ServeConfig()
        self._llm_factory, self._llm = llm_factory, None
        self.cross_encoder = cross_encoder
        self._lock = threading.RLock()  # building a pipeline may start the LLM under the same lock
        self._pipelines: dict[tuple[bool, str], Any] = {}
        self.batcher: MicroBatcher[str, _Outcome] = MicroBatcher(self._run_batch, self._first_policy())
        self.calibration: Calibration | None = None  # set by warm_up under the bounded rule

    @classmethod
    def from_index(cls, folder: str | Path, *, model: str | None = None, config: ServeConfig | None = None,
                   llm_factory: Callable[[], Any] | None = None, encoder_backend: str | None = None,
                   cross_encoder: Any = None) -> SearchService:
        """Load the index, its documents and (for dense indexes) the encoder, once; ``encoder_backend``
        overrides the backend saved in the index manifest. ``cross_encoder`` (a name, a folder or a loaded
        ``CrossEncoder``) loads at start too, so a wrong name fails here rather than on a request."""
        from reasonir.retrieve.store import index_folder, load_index, lookup_documents, read_manifest

        folder = index_folder(folder)  # an adapt output folder serves its index/
        kind = read_manifest(folder)["kind"]
        if config is not None and config.threads is not None:
            set_threads(config.threads)
        kwargs: dict[str, Any] = {"show_progress": False} if kind != "bm25" else {}
        if model:
            kwargs["model"] = model
        if encoder_backend and kind != "bm25":
            kwargs["encoder_backend"] = encoder_backend
        if isinstance(cross_encoder, (str, Path)):
            from reasonir.retrieve.rerank import CrossEncoderReranker

            cross_encoder = CrossEncoderReranker(str(cross_encoder)).model  # its loader, with its max_length
        service = cls(load_index(folder, **kwargs), lookup_documents(folder), config=config, kind=kind,
                      index_dir=str(folder), llm_factory=llm_factory, cross_encoder=cross_encoder)
        service.warm_up()
        return service

    def _first_policy(self) -> BatchPolicy:
        """The policy before :meth:`warm_up` measures: the configured rule, capped at ``max_batch``."""
        c = self.config
        wait_s = 0.0 if c.max_wait_ms is None else c.max_wait_ms / 1000
        return BatchPolicy(c.batching, c.max_batch, wait_s)

    def warm_up(self) -> None:
        """Run one query so the encoder is loaded before the first request, not during it (a cross-encoder is
        loaded already; warming it would score a whole rerank depth of pairs at every start). Under the ``bounded``
        rule, then time searches by batch size and set the batch cap and wait from them (serve/batching.py)."""
        self._run_batch((1, False, "none"), ["warm up"])
        if self.config.batching != "bounded" or self.config.max_batch == 1:
            return
        from reasonir.models.auto import probe_texts

        queries, _ = probe_texts()  # 20 queries of several domains and lengths, the encoder probe's
        wait_s = None if self.config.max_wait_ms is None else self.config.max_wait_ms / 1000
        self.calibration = calibrate(lambda texts: self._run_batch((10, False, "none"), texts), queries,
                                     self.config.max_batch, max_wait_s=wait_s)
        self.batcher.policy = self.calibration.policy

    def batching(self) -> dict[str, Any]:
        """The batching rule in force, and what calibrating it measured (``/health``)."""
        if self.calibration is not None:
            return self.calibration.as_dict()
        policy = self.batcher.policy
        return {"rule": policy.rule, "cap": policy.cap, "max_wait_ms": round(policy.max_wait_s * 1e3, 3)}

    def features(self) -> dict[str, Any]:
        """What requests may ask for: rewriting and LLM reranking need an LLM, cross-encoder reranking a model."""
        llm = self._llm_factory is not None
        rerank: list[Rerank] = ["none", *(["llm"] if llm else []),
                                *(["cross-encoder"] if self.cross_encoder is not None else [])]
        return {"rewrite": llm, "rerank": rerank, "rag": llm}

    def get_llm(self) -> Any:
        with self._lock:  # at most one LLM per server, started on first need
            if self._llm is None:
                if self._llm_factory is None:
                    raise FeatureUnavailable("this server was started without an LLM")
                self._llm = self._llm_factory()
            return self._llm

    def _pipeline_for(self, rewrite: bool, rerank: Rerank) -> Any:
        with self._lock:
            key = (rewrite, rerank)
            if key not in self._pipelines:
                self._pipelines[key] = _pipeline(self.retriever, rewrite=rewrite, rerank=rerank, llm=self.get_llm,
                                                 cross_encoder=self.cross_encoder)
            return self._pipelines[key]

    def _run_batch(self, key: tuple[int, bool, Rerank], texts: Sequence[str]) -> list[_Outcome]:
        k, rewrite, rerank = key
        queries = [Query(f"q{i}", text) for i, text in enumerate(texts)]
        return _search(self._pipeline_for(rewrite, rerank), queries, k)

    async def search(self, query: str, k: int = 10, *, rewrite: bool = False, rerank: Rerank = "none") -> SearchResult:
        start = time.perf_counter()
        if (rewrite, rerank) not in self._pipelines:  # built once, off the loop: it may start an LLM
            await asyncio.to_thread(self._pipeline_for, rewrite, rerank)  # and fails fast (501) before queueing
        done = await self.batcher.submit((k, rewrite, rerank), query)
        outcome = done.value
        hits = []
        for rank, (doc_id, score) in enumerate(outcome.ranked, 1):
            doc = self.documents.get(doc_id)
            hits.append(Hit(rank, doc_id, float(score), doc.title if doc else "",
                            snippet(doc.text, self.config.snippet_chars) if doc else ""))
        timings = {"queue": done.queue_s, "search": done.run_s,
                   **{f"stage_{stage}": s for stage, s in outcome.stage_seconds.items()}}
        timings_ms = {name: round(v * 1000, 3) for name, v in timings.items()}
        timings_ms["total"] = round((time.perf_counter() - start) * 1000, 3)
        timings_ms["batch_size"] = done.batch_size
        return SearchResult(query, k, hits, outcome.rewritten, outcome.compute, timings_ms)

    async def aclose(self) -> None:
        await self.batcher.aclose()
        if self._llm is not None and hasattr(self._llm, "close"):
            self._llm.close()
