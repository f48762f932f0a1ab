"""``synthesize``: the one entry point that turns documents and an LLM into training rows, resumably.

Per seed and kind (``steps``): sample ``candidates`` queries in independent calls, each with its own seed; screen
them (length, filler, leakage, mentions of the source, duplicates); rank each against the whole corpus with the
corpus ranker and keep the best whose positive comes back in the top ``roundtrip_k`` (round-trip consistency) and
that is no near-duplicate of a kept query; then write a hard negative in a further turn (checked against false
negatives) and mine more from the corpus. ``max_chains`` seeds are in flight at once; the LLM layer applies its own
request concurrency below that. Persistence and resume live in ``job``.

Example (a scripted LLM; real runs pass ``reasonir.llm.load_llm()``):
    >>> import tempfile, pathlib
    >>> from reasonir.data import Document
    >>> from reasonir.testing import ScriptedLLM
    >>> from reasonir.synth import SynthConfig, synthesize
    >>> from reasonir.testing import scripted_answers
    >>> docs = [Document(str(i), f"Topic {i}: " + "a mechanism that explains reasoning steps " * 5) for i in range(3)]
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "rows.jsonl"
    >>> cfg = SynthConfig(kinds=("hq",), prompt_style="structured")
    >>> cfg.negatives.miner, cfg.negatives.mined = "bm25", 0
    >>> synthesize(docs, ScriptedLLM(scripted_answers), out, cfg).kept["hq"]
    3
"""
from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from reasonir.data.records import Document
from reasonir.llm.types import LLM, ChatRequest, ChatResult
from reasonir.synth import llmcall, steps
from reasonir.synth.config import Kind, SynthConfig
from reasonir.synth.devset import is_dev_seed
from reasonir.synth.filters import Filters
from reasonir.synth.job import JobStore, corpus_fingerprint, open_job, state_dir
from reasonir.synth.progress import ProgressLine, is_terminal
from reasonir.synth.prompts import Prompts, load_prompts
from reasonir.synth.ranker import BM25Ranker, CorpusRanker, DenseRanker, build_ranker
from reasonir.synth.report import SynthReport
from reasonir.synth.seeds import Classifier, Seed, select_seeds
from reasonir.synth.styles import resolve_judge, resolve_prompt_style

__all__ = ["BusyClock", "asynthesize", "corpus_fingerprint", "state_dir", "synthesize"]


class BusyClock:
    """Wraps an LLM: fits each request to the model's context window (a request with no room left becomes a
    counted failure, not a crash) and measures the wall time with at least one request in flight."""

    def __init__(self, llm: LLM) -> None:
        self.llm, self.in_flight, self.busy, self._since = llm, 0, 0.0, 0.0
        self.context_window: int | None = llm.context_window

    async def achat(self, request: ChatRequest) -> ChatResult:
        from reasonir.llm.errors import ContextWindowError

        fitted = llmcall.fit(request, self.context_window)
        if fitted is None:
            return ChatResult(request, error=f"context: the prompt leaves no room in {self.context_window} tokens")
        if self.in_flight == 0:
            self._since = time.perf_counter()
        self.in_flight += 1
        try:
            return await self.llm.achat(fitted)
        except ContextWindowError as exc:
            return ChatResult(request, error=f"context: {exc}")
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self.busy += time.perf_counter() - self._since


class _Run:
    """One run's shared state: the LLM clock, the store, filters, the ranker and the kept queries' embeddings."""

    def __init__(self, llm: LLM, store: JobStore, config: SynthConfig, prompts: Prompts, report: SynthReport) -> None:
        self.clock = BusyClock(llm)
        self.model = llm.model
        self.store, self.config, self.prompts, self.report = store, config, prompts, report
        self.filters = Filters(config.filters, store.kept_queries)
        self.ranker: CorpusRanker | None = None
        self.kept_embeddings: list[np.ndarray] = []
        self.dev_share = 0.0  # set once the seeds are known (synth.devset)
        self.dev_ranker: CorpusRanker | None = None  # BM25: the dev rows' round trip, by no model being judged
        self.bar = None
        self.line: ProgressLine | None = None  # progress as log lines when the output is not a terminal

    async def ask(self, request: ChatRequest, shape) -> llmcall.Answer:
        answer = llmcall.check(await self.clock.achat(request), shape)
        if answer.salvaged:
            self.report.salvaged[request.tag] += 1
        if not answer.ok and len(self.report.errors) < 10:
            self.report.errors.append(f"{request.tag}: {answer.error}")
        return answer

    async def seed_chain(self, seed: Seed, kind: Kind) -> None:
        cfg = self.config
        dev = is_dev_seed(seed.id, self.dev_share, cfg.seed)
        outcome = steps.Outcome(seed.id, kind, dev=dev)
        n = cfg.dev_candidates if dev else None
        if kind == "hq":
            candidates = await steps.sample_hq(self.ask, seed, self.prompts, cfg, outcome, n)
            keep = cfg.hq.queries_per_seed
        else:
            candidates = await steps.sample_vl(self.ask, seed, self.prompts, cfg, self.clock.context_window, outcome,
                                               n)
            keep = cfg.vl.examples_per_seed
        clean = steps.screen(candidates, kind, self.filters, outcome)
        if dev:
            ranked = await asyncio.to_thread(steps.rank, clean, self.dev_ranker)
            outcome.rows = steps.dev_row(clean, ranked, kind, self.filters, cfg, seed.id, self.model, outcome)
        else:
            outcome.judge_rows = steps.judge_rows(clean, kind, cfg, seed.id, self.model)
            ranked = await asyncio.to_thread(steps.rank, clean, self.ranker)
            # selection runs on the event loop, never in two chains at once: kept queries and embeddings stay
            # consistent
            chosen = steps.choose(clean, ranked, self.filters, self.kept_embeddings, cfg, keep, outcome)
            outcome.rows = [await steps.make_row(self.ask, c, kind, ranked, row, self.ranker, self.prompts, cfg,
                                                 seed.id, n, self.model, outcome) for n, (c, row) in enumerate(chosen)]
        self.store.record(outcome.entry(), outcome.rows + outcome.judge_rows)
        if self.bar is not None:
            self.bar.update(1)
        if self.line is not None:
            self.line.seed_done(len(outcome.rows))


def _job_fingerprint(config: SynthConfig, prompts: Prompts, documents: Sequence[Document], model: str) -> str:
    base = config.fingerprint(prompts.texts)
    return hashlib.sha256(f"{base}:{prompts.style}:{corpus_fingerprint(documents)}:{model}".encode()).hexdigest()[:16]


def _needs_ranker(config: SynthConfig) -> bool:
    neg = config.negatives
    return config.filters.roundtrip_k is not None or neg.mined > 0 or neg.written > 0


async def asynthesize(documents: Sequence[Document], llm: LLM, out_path: str | Path, config: SynthConfig | None = None,
                      *, classifier: Classifier | None = None, resume: bool = False, overwrite: bool = False,
                      progress: bool = False, ranker: CorpusRanker | None = None,
                      deadline: float | None = None,
                      progress_log: Callable[[str], None] | None = None) -> SynthReport:
    """The async form of ``synthesize`` (for callers already inside an event loop)."""
    config = config or SynthConfig()
    bars = progress and is_terminal()  # a bar only where it can redraw; lines (progress_log) elsewhere
    start = time.perf_counter()
    out = Path(out_path)
    style = resolve_prompt_style(config.prompt_style, llm.model)
    prompts = load_prompts(config.prompts_dir, style)
    fingerprint = _job_fingerprint(config, prompts, documents, llm.model)
    report = SynthReport(str(out), fingerprint, prompt_style=style)
    open_job(out, fingerprint, resume, overwrite)
    usage = llm.usage()
    usage_at_start = usage.snapshot()
    with ExitStack() as stack:
        store = JobStore(out, report, stack)
        run = _Run(llm, store, config, prompts, report)
        bar = _bar(bars, "judging seeds")

        def scored(doc_id: str, score: float | None) -> None:
            store.scores.append({"id": doc_id, "score": score})
            if bar is not None:
                bar.update(1)

        ranker_task = None
        if ranker is None and _needs_ranker(config):  # built beside seed judging; the first chain waits for it
            ranker_task = asyncio.create_task(asyncio.to_thread(
                build_ranker, documents, config.negatives.miner, config.negatives.dense_model))
        judge = resolve_judge(config.seeds.judge, style)
        seeds, report.seeds = await select_seeds(documents, run.clock, config, prompts, classifier=classifier,
                                                 known_scores=store.known_scores(), on_scored=scored,
                                                 context_window=run.clock.context_window, judge=judge)
        if bar is not None:
            bar.close()
        run.ranker = await ranker_task if ranker_task is not None else ranker
        if len(seeds) * config.dev_share >= config.dev_min_seeds:
            run.dev_share = config.dev_share
            run.dev_ranker = (run.ranker if isinstance(run.ranker, BM25Ranker) else
                              await asyncio.to_thread(build_ranker, documents, "bm25"))
        if isinstance(run.ranker, DenseRanker) and store.kept_queries:  # resumed: near-duplicates of earlier rows
            run.kept_embeddings = list(await asyncio.to_thread(run.ranker.encode_queries, store.kept_queries))
        report.setup_seconds = time.perf_counter() - start
        limits = {"hq": config.hq.max_seeds, "vl": config.vl.max_seeds}
        plan = [(seed, kind) for i, seed in enumerate(seeds) for kind in config.kinds
                if (limits[kind] is None or i < limits[kind]) and f"{seed.id}:{kind}" not in store.done]
        run.bar = _bar(bars, "synthesizing", total=len(store.done) + len(plan), initial=len(store.done),
                       unit="seed")
        if not bars and (progress or progress_log is not None):
            run.line = ProgressLine(len(store.done) + len(plan), progress_log or _to_stderr, done=len(store.done))
        gate = asyncio.Semaphore(config.max_chains)

        async def chain(seed: Seed, kind: Kind) -> None:
            async with gate:
                if deadline is not None and time.monotonic() > deadline:
                    report.not_started += 1  # the time budget is spent: a rerun past it starts them
                    return
                await run.seed_chain(seed, kind)

        try:
            await asyncio.gather(*(chain(*p) for p in plan))
        finally:
            if run.bar is not None:
                run.bar.close()
            if run.line is not None:
                run.line.close()
    report.seconds = time.perf_counter() - start
    report.llm_busy_seconds = run.clock.busy
    usage = llm.usage().since(usage_at_start)  # this run's usage, not the LLM object's lifetime
    report.usage = usage.as_dict()
    report.usage_text = usage.format()
    return report


def _to_stderr(line: str) -> None:
    import sys

    print(line, file=sys.stderr, flush=True)


def _bar(enabled: bool, desc: str, total: int | None = None, initial: int = 0, unit: str = "item"):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit=unit, dynamic_ncols=True)


def synthesize(documents: Sequence[Document], llm: LLM, out_path: str | Path, config: SynthConfig | None = None,
               *, classifier: Classifier | None = None, resume: bool = False, overwrite: bool = False,
               progress: bool = False, ranker: CorpusRanker | None = None,
               deadline: float | None = None, progress_log: Callable[[str], None] | None = None) -> SynthReport:
    """Synthesize HQ and VL training rows from ``documents`` with ``llm`` into ``out_path`` (JSONL).

    An existing ``out_path`` made by the same settings, corpus and model is resumed; any other existing file is
    refused unless ``resume`` (continue it anyway) or ``overwrite`` (start again). ``classifier`` replaces the LLM
    judge of seeds: a callable from a list of texts to scores. ``ranker`` reuses a corpus ranker already built
    (``synth.ranker.build_ranker``) instead of building one. ``deadline`` (a ``time.monotonic()`` value): seeds not
    started by then are left for a later run (counted in ``report.not_started``). ``progress``: a tqdm bar on a terminal, else a line on stderr every 30 s or
    so (``synth.progress``); ``progress_log`` takes those lines instead (and asks for them without ``progress``).
    See ``job`` for crash safety.
    """
    return asyncio.run(asynthesize(documents, llm, out_path, config, classifier=classifier, resume=resume,
                                   overwrite=overwrite, progress=progress, ranker=ranker, deadline=deadline,
                                   progress_log=progress_log))
