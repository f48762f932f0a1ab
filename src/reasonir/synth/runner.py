"""``synthesize``: the one entry point that turns documents and an LLM into training rows, resumably.

Each seed's chain (HQ: analysis -> questions -> negatives; VL: brainstorm -> example -> negatives) runs as an
asyncio task; ``SynthConfig.max_chains`` chains are in flight at once and the LLM layer applies its own request
concurrency below that. Every finished item (one query: kept or dropped) is recorded at once: kept rows go to
``out_path`` through ``JsonlAppender`` (key ``meta.row_id`` = ``<seed id>:<kind>:<index>``), and every outcome
goes to a ledger in ``<out_path>.synth/``, beside the seed scores and a manifest with the job's fingerprint. After a
crash (even ``kill -9``) the same call skips what is recorded and redoes only what was lost; with greedy decoding
the redone items are the ones the crash interrupted, so the final file equals an uninterrupted run's.

Example (a scripted LLM; real runs pass ``reasonir.llm.load_llm()``):
    >>> import tempfile, pathlib
    >>> from reasonir.data import Document
    >>> from reasonir.llm import ScriptedLLM
    >>> from reasonir.synth import SynthConfig, synthesize
    >>> from reasonir.synth.testing import scripted_answers
    >>> docs = [Document(str(i), f"Topic {i}: " + "a mechanism that explains reasoning steps " * 5) for i in range(3)]
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "rows.jsonl"
    >>> cfg = SynthConfig(kinds=("hq",))
    >>> cfg.negatives.mined = 0
    >>> synthesize(docs, ScriptedLLM(scripted_answers), out, cfg).kept["hq"]
    3
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from reasonir.data.appender import JsonlAppender
from reasonir.data.atomic import atomic_open
from reasonir.data.records import Document, TrainingRow
from reasonir.data.training import row_to_dict
from reasonir.llm.types import LLM, ChatRequest, ChatResult, Message
from reasonir.synth import hq, llmcall, negatives, vl
from reasonir.synth.config import Kind, SynthConfig
from reasonir.synth.filters import Filters
from reasonir.synth.negatives import Miner, build_miner, document_text
from reasonir.synth.prompts import Prompts, load_prompts
from reasonir.synth.report import SynthReport
from reasonir.synth.seeds import Classifier, Seed, select_seeds


class BusyClock:
    """Wraps an LLM: fits each request to the model's context window (a request with no room left becomes a
    counted failure, not a crash) and measures the wall time with at least one request in flight."""

    def __init__(self, llm: LLM) -> None:
        self.llm, self.in_flight, self.busy, self._since = llm, 0, 0.0, 0.0
        self.context_window: int | None = getattr(llm, "context_window", None)

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


def corpus_fingerprint(documents: Sequence[Document]) -> str:
    h = hashlib.sha256()
    for d in documents:
        h.update(f"{d.id}\x00{d.title}\x00{d.text}\x01".encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:16]


def state_dir(out_path: str | Path) -> Path:
    """Where a job keeps its manifest, seed scores and ledger: ``<out>.synth/`` beside the output."""
    out = Path(out_path)
    return out.with_name(out.name + ".synth")


def _open_job(out: Path, fingerprint: str, resume: bool, overwrite: bool) -> bool:
    """Decide between a fresh start and a resume; refuse to touch a file this job did not make."""
    state = state_dir(out)
    manifest = state / "manifest.json"
    old = json.loads(manifest.read_text())["fingerprint"] if manifest.is_file() else None
    if overwrite:
        out.unlink(missing_ok=True)
        shutil.rmtree(state, ignore_errors=True)
        old = None
    elif out.exists():
        if old != fingerprint and not resume:
            why = "was made with other settings, corpus or model" if old else "was not made by reasonir synthesize"
            raise FileExistsError(f"{out}: already exists and {why}; pass --resume to continue it anyway or "
                                  "--overwrite to replace it")
    elif old is not None and old != fingerprint:
        shutil.rmtree(state)  # our own state from another job whose output is gone
        old = None
    else:  # the output is gone: its ledger would claim rows that no longer exist (seed scores stay valid)
        (state / "ledger.jsonl").unlink(missing_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    if old != fingerprint:
        with atomic_open(manifest, overwrite=True) as fh:
            json.dump({"fingerprint": fingerprint, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, fh)
    return out.exists() and out.stat().st_size > 0


@dataclass
class _Item:
    """One query on its way to becoming a row."""

    key: str
    kind: Kind
    seed: Seed
    index: int
    query: str
    positive: str
    positive_id: str | None
    conversation: list[Message]  # the turns that produced the query; negatives continue it
    answer: dict  # the model's answer that the negatives turn shows as its own
    meta: dict


class _Job:
    def __init__(self, llm: LLM, out: Path, config: SynthConfig, prompts: Prompts, report: SynthReport,
                 stack: ExitStack) -> None:
        self.clock = BusyClock(llm)
        self.model = getattr(llm, "model", "unknown")
        self.config, self.prompts, self.report = config, prompts, report
        state = state_dir(out)
        self.rows = stack.enter_context(JsonlAppender(out, key="meta.row_id"))
        self.ledger = stack.enter_context(JsonlAppender(state / "ledger.jsonl", key="key"))
        self.scores_file = stack.enter_context(JsonlAppender(state / "scores.jsonl", key="id"))
        self.bar = None
        self.miner_task: asyncio.Task[Miner] | None = None  # the mining index, built beside the first LLM calls
        self.salvaged: Counter = Counter()  # answers cut off by max_tokens and closed, per stage
        kept_queries = self._read_back(out)
        self.filters = Filters(config.filters, kept_queries)

    def _read_back(self, out: Path) -> list[str]:
        """Count what earlier runs finished (ledger + rows) into the report; return the kept queries."""
        queries, from_ledger = [], set()
        for line in open(self.ledger.path, encoding="utf-8"):
            if line.strip():
                entry = json.loads(line)
                from_ledger.add(entry["key"])
                self._count(entry)
        for line in open(out, encoding="utf-8"):
            if line.strip():
                row = json.loads(line)
                queries.append(row["query"])
                if row["meta"]["row_id"] not in from_ledger:  # crash between the row and its ledger entry
                    self._count({"status": "kept", "kind": row["kind"],
                                 "counts": Counter(row["meta"].get("neg_source", []))})
        self.report.resumed_items = len(self.done)
        return queries

    @property
    def done(self) -> set[str]:
        return self.rows.keys | self.ledger.keys

    def _count(self, entry: dict) -> None:
        if entry["status"] == "kept":
            self.report.kept[entry["kind"]] += 1
        else:
            self.report.dropped[entry["reason"]] += 1
        self.report.negatives.update(entry.get("counts", {}))

    def _record(self, entry: dict, row: TrainingRow | None = None) -> None:
        if row is not None:
            self.rows.append(row_to_dict(row))
        self.ledger.append(entry)
        self._count(entry)
        if self.bar is not None:
            self.bar.update(1)

    def drop(self, key: str, kind: Kind, reason: str, counts: Counter | None = None) -> None:
        self._record({"key": key, "status": "dropped", "kind": kind, "reason": reason, "counts": dict(counts or {})})

    def failed(self, answer: llmcall.Answer) -> str:
        """Remember the error text (first few) and name the drop: llm_error, context_overflow or invalid_json."""
        error = answer.error or ""
        if len(self.report.errors) < 10:
            self.report.errors.append(error)
        if error.startswith("llm: context:"):
            return "context_overflow"
        return "llm_error" if error.startswith("llm:") else "invalid_json"

    async def ask(self, request: ChatRequest, shape) -> llmcall.Answer:
        answer = llmcall.check(await self.clock.achat(request), shape)
        if answer.salvaged:
            self.salvaged[request.tag] += 1
        return answer

    # --- chains --------------------------------------------------------------------------------------------------

    async def hq_chain(self, seed: Seed, todo: list[int]) -> None:
        cfg = self.config
        analysis = await self.ask(hq.analysis_request(seed, self.prompts, cfg), hq.parse_analysis)
        if not analysis.ok:
            reason = self.failed(analysis)
            for i in todo:
                self.drop(f"{seed.id}:hq:{i}", "hq", reason)
            return
        questions = await self.ask(hq.questions_request(seed, self.prompts, cfg, analysis.value), hq.parse_questions)
        if not questions.ok:
            reason = self.failed(questions)
            for i in todo:
                self.drop(f"{seed.id}:hq:{i}", "hq", reason)
            return
        # the negatives turn shows one question as the model's answer to a one-question prompt
        conversation = hq.questions_messages(seed, self.prompts, analysis.value, 1)
        positive = document_text(Document(seed.id, seed.text, seed.title))
        for i in todo:
            key = f"{seed.id}:hq:{i}"
            if i >= len(questions.value):
                self.drop(key, "hq", "invalid_json")
                continue
            q = questions.value[i]
            meta = {"domain": analysis.value["domain"], "seed_score": seed.score, "seed_truncated": seed.truncated,
                    "answer_cut_off": questions.salvaged}
            await self.finish(_Item(key, "hq", seed, i, q, positive, seed.id, conversation, {"questions": [q]}, meta))

    async def vl_chain(self, seed: Seed, todo: list[int]) -> None:
        cfg = self.config
        tasks = await self.ask(vl.brainstorm_request(seed, self.prompts, cfg), vl.parse_tasks)
        if not tasks.ok:
            reason = self.failed(tasks)
            for j in todo:
                self.drop(f"{seed.id}:vl:{j}", "vl", reason)
            return
        for j in todo:
            key = f"{seed.id}:vl:{j}"
            task = tasks.value[j % len(tasks.value)]
            q_words, p_words = vl.target_lengths(seed.id, j, cfg)
            example = await self.ask(vl.example_request(task, q_words, p_words, self.prompts, cfg), vl.parse_example)
            if not example.ok:
                self.drop(key, "vl", self.failed(example))
                continue
            query, positive = example.value
            conversation = vl.example_messages(task, q_words, p_words, self.prompts)
            meta = {"task": task, "target_query_words": q_words, "target_positive_words": p_words,
                    "seed_score": seed.score, "answer_cut_off": example.salvaged}
            await self.finish(_Item(key, "vl", seed, j, query, positive, None, conversation,
                                    {"query": query, "positive": positive}, meta))

    async def finish(self, item: _Item) -> None:
        """Mine, filter, write negatives, record: the common tail of both chains."""
        cfg, counts = self.config, Counter()
        mined = None
        if self.miner_task is not None:
            miner = await self.miner_task
            mined = await asyncio.to_thread(miner.mine, item.query, item.positive, item.positive_id,
                                            cfg.negatives.mined)
            counts.update(mined.rejected)
        rank = mined.positive_rank if mined else None
        reason = self.filters.check(item.kind, item.query, item.positive, positive_rank=rank,
                                    target_words=item.meta.get("target_query_words"))
        if reason:
            self.drop(item.key, item.kind, reason, counts)
            return
        written: list[str] = []
        if cfg.negatives.written > 0:
            answer = await self.ask(negatives.written_request(item.conversation, item.answer, self.prompts, cfg),
                                    negatives.parse_negatives)
            if answer.ok:
                written = negatives.clean_written(answer.value, item.positive, item.query, cfg.negatives, counts)
            else:
                counts["written_failed"] += 1
                self.failed(answer)
        mined_pairs = mined.negatives if mined else []
        counts["written"] += len(written)
        counts["mined"] += len(mined_pairs)
        sources = ["written"] * len(written) + ["mined"] * len(mined_pairs)
        meta = {"row_id": item.key, **item.meta, "neg_source": sources, "mined_ids": [d for d, _ in mined_pairs],
                "positive_rank": rank, "model": self.model}
        instruction = cfg.hq.instruction if item.kind == "hq" else cfg.vl.instruction
        row = TrainingRow(item.query, [item.positive], written + [t for _, t in mined_pairs], instruction,
                          item.kind, item.seed.id, meta)
        self._record({"key": item.key, "status": "kept", "kind": item.kind, "counts": dict(counts)}, row)


def _plan(seeds: list[Seed], config: SynthConfig, done: set[str]) -> list[tuple[Seed, Kind, list[int]]]:
    per_kind = {"hq": config.hq.queries_per_seed, "vl": config.vl.examples_per_seed}
    plan = []
    for seed in seeds:
        for kind in config.kinds:
            todo = [i for i in range(per_kind[kind]) if f"{seed.id}:{kind}:{i}" not in done]
            if todo:
                plan.append((seed, kind, todo))
    return plan


async def asynthesize(documents: Sequence[Document], llm: LLM, out_path: str | Path, config: SynthConfig | None = None,
                      *, classifier: Classifier | None = None, resume: bool = False, overwrite: bool = False,
                      progress: bool = False) -> SynthReport:
    """The async form of ``synthesize`` (for callers already inside an event loop)."""
    config = config or SynthConfig()
    start = time.perf_counter()
    out = Path(out_path)
    prompts = load_prompts(config.prompts_dir)
    fingerprint = config.fingerprint(prompts.texts)
    fingerprint = hashlib.sha256(f"{fingerprint}:{corpus_fingerprint(documents)}:{getattr(llm, 'model', '')}"
                                 .encode()).hexdigest()[:16]
    report = SynthReport(str(out), fingerprint)
    _open_job(out, fingerprint, resume, overwrite)
    with ExitStack() as stack:
        job = _Job(llm, out, config, prompts, report, stack)
        bar = _bar(progress, "judging seeds")
        known = {}
        for line in open(job.scores_file.path, encoding="utf-8"):
            if line.strip():
                entry = json.loads(line)
                known[entry["id"]] = entry["score"]

        def scored(doc_id: str, score: float | None) -> None:
            job.scores_file.append({"id": doc_id, "score": score})
            if bar is not None:
                bar.update(1)

        needs_miner = config.negatives.mined > 0 or config.filters.roundtrip_k is not None
        miner_task = asyncio.create_task(asyncio.to_thread(build_miner, documents, config.negatives)) \
            if needs_miner else None
        seeds, report.seeds = await select_seeds(documents, job.clock, config, prompts, classifier=classifier,
                                                 known_scores=known, on_scored=scored,
                                                 context_window=job.clock.context_window)
        if bar is not None:
            bar.close()
        job.miner_task = miner_task  # chains start now; the first to need the index waits for it
        report.setup_seconds = time.perf_counter() - start
        plan = _plan(seeds, config, job.done)
        job.bar = _bar(progress, "synthesizing", total=len(job.done) + sum(len(t) for _, _, t in plan),
                       initial=len(job.done))
        gate = asyncio.Semaphore(config.max_chains)

        async def chain(seed: Seed, kind: Kind, todo: list[int]) -> None:
            async with gate:
                await (job.hq_chain(seed, todo) if kind == "hq" else job.vl_chain(seed, todo))

        try:
            await asyncio.gather(*(chain(*p) for p in plan))
        finally:
            if job.bar is not None:
                job.bar.close()
    report.seconds = time.perf_counter() - start
    report.llm_busy_seconds = job.clock.busy
    report.salvaged = job.salvaged
    usage = llm.usage()
    report.usage = usage.as_dict() if hasattr(usage, "as_dict") else dict(usage or {})
    report.usage_text = usage.format() if hasattr(usage, "format") else ""
    return report


def _bar(enabled: bool, desc: str, total: int | None = None, initial: int = 0):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="item", dynamic_ncols=True)


def synthesize(documents: Sequence[Document], llm: LLM, out_path: str | Path, config: SynthConfig | None = None,
               *, classifier: Classifier | None = None, resume: bool = False, overwrite: bool = False,
               progress: bool = False) -> SynthReport:
    """Synthesize HQ and VL training rows from ``documents`` with ``llm`` into ``out_path`` (JSONL).

    An existing ``out_path`` made by the same settings, corpus and model is resumed; any other existing file is
    refused unless ``resume`` (continue it anyway) or ``overwrite`` (start again). ``classifier`` replaces the LLM
    judge of seeds: a callable from a list of texts to scores. See the module doc for crash safety.
    """
    return asyncio.run(asynthesize(documents, llm, out_path, config, classifier=classifier, resume=resume,
                                   overwrite=overwrite, progress=progress))
