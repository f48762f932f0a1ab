"""The per-seed steps of synthesis as plain functions: sample candidates, screen them, rank and select, add
negatives. Each returns what happened (candidates, counted drops, rows); ``runner`` strings them together and
``job`` persists the outcome.

``ask`` is the runner's way to call the LLM: ``await ask(request, shape) -> llmcall.Answer``.
"""
from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reasonir.data.records import DEV_SPLIT, JUDGE_SPLIT, Document, TrainingRow
from reasonir.llm.types import ChatRequest, Message
from reasonir.retrieve.base import document_text
from reasonir.synth import hq, llmcall, negatives, vl
from reasonir.synth.config import Kind, SynthConfig
from reasonir.synth.filters import Filters, select
from reasonir.synth.prompts import Prompts
from reasonir.synth.ranker import CorpusRanker, Ranked
from reasonir.synth.seeds import Seed
from reasonir.synth.text import count_words

Ask = Callable[[ChatRequest, Callable[[Any], Any]], Awaitable[llmcall.Answer]]


@dataclass
class Candidate:
    """One sampled query on its way to becoming a row."""

    index: int  # candidate number within its seed and kind (part of its sampling seed)
    query: str
    positive: str
    positive_id: str | None  # the corpus id when the positive is the seed document
    conversation: list[Message]  # the turns that asked for the query; the negatives turn continues them
    own_turn: str  # the model's answer as the negatives turn shows it
    meta: dict = field(default_factory=dict)


@dataclass
class Outcome:
    """What became of one (seed, kind): the ledger entry and the rows to write."""

    seed_id: str
    kind: Kind
    candidates: int = 0
    rows: list[TrainingRow] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)
    negatives: Counter = field(default_factory=Counter)
    roundtrip: Counter = field(default_factory=Counter)
    target_words: list[int] = field(default_factory=list)
    judge_rows: list[TrainingRow] = field(default_factory=list)  # kept to judge models, never trained on
    dev: bool = False  # a dev seed (synth.devset): its row judges models and is never trained on

    @property
    def key(self) -> str:
        return f"{self.seed_id}:{self.kind}"

    def entry(self) -> dict:
        out = {"key": self.key, "kind": self.kind, "candidates": self.candidates, "kept": len(self.rows),
               "dropped": dict(self.dropped), "negatives": dict(self.negatives), "roundtrip": dict(self.roundtrip)}
        if self.judge_rows:
            out["judge"] = len(self.judge_rows)
        if self.dev:
            out["split"] = DEV_SPLIT
        if self.kind == "vl":
            out["query_words"] = [count_words(r.query) for r in self.rows]
            out["target_words"] = self.target_words
        return out


def failure_reason(answer: llmcall.Answer) -> str:
    error = answer.error or ""
    if error.startswith("llm: context:"):
        return "context_overflow"
    if error.startswith("llm:"):
        return "llm_error"
    return "invalid_json" if error.startswith("invalid JSON") else "unusable_answer"


# --- sampling ------------------------------------------------------------------------------------------------------

async def sample_hq(ask: Ask, seed: Seed, prompts: Prompts, config: SynthConfig, outcome: Outcome,
                    n: int | None = None) -> list[Candidate]:
    """``n`` (default ``hq.candidates``) questions in independent calls (after one analysis turn in the structured
    style)."""
    n = n or config.hq.candidates
    analysis = None
    if prompts.style == "structured":
        answer = await ask(hq.analysis_request(seed, prompts, config), hq.parse_analysis)
        if not answer.ok:
            outcome.candidates = n
            outcome.dropped[failure_reason(answer)] += n
            return []
        analysis = answer.value
    answers = await asyncio.gather(*(ask(hq.question_request(seed, prompts, config, analysis, i), hq.parse_question)
                                     for i in range(n)))
    outcome.candidates += n
    positive = document_text(Document(seed.id, seed.text, seed.title), "row")
    conversation = hq.question_messages(seed, prompts, analysis)
    out = []
    for i, answer in enumerate(answers):
        if not answer.ok:
            outcome.dropped[failure_reason(answer)] += 1
            continue
        meta = {"candidate": i, "seed_score": seed.score, "seed_truncated": seed.truncated}
        if analysis:
            meta["domain"] = analysis["domain"]
        out.append(Candidate(i, answer.value, positive, seed.id, conversation,
                             hq.own_turn(answer.value, prompts.style), meta))
    return out


async def sample_vl(ask: Ask, seed: Seed, prompts: Prompts, config: SynthConfig, context_window: int | None,
                    outcome: Outcome, n: int | None = None) -> list[Candidate]:
    """``n`` (default ``vl.candidates``) long queries; structured: one example per brainstormed task, so every task
    is used."""
    n, structured = n or config.vl.candidates, prompts.style == "structured"
    tasks: list[str] = []
    if structured:
        answer = await ask(vl.brainstorm_request(seed, prompts, config), vl.parse_tasks)
        if not answer.ok:
            outcome.candidates = n
            outcome.dropped[failure_reason(answer)] += n
            return []
        tasks = answer.value[:n]
    def messages_for(i: int, q_words: int, p_words: int) -> list:
        return (vl.example_messages(tasks[i], q_words, p_words, prompts) if structured
                else vl.query_messages(seed, q_words, prompts))

    plans = []
    for i in range(len(tasks) if structured else n):
        q_words, p_words = vl.target_lengths(seed.id, i, config)
        fitted = vl.fit_lengths(q_words, p_words, llmcall.prompt_tokens(messages_for(i, q_words, p_words)),
                                context_window, config.vl.tokens_per_word, writes_positive=structured)
        outcome.candidates += 1
        if fitted is None:
            outcome.dropped["context_overflow"] += 1
            continue
        q_words, p_words = fitted
        messages = messages_for(i, q_words, p_words)  # the prompt again, now naming the fitted lengths
        outcome.target_words.append(q_words)
        plans.append((i, q_words, p_words, messages))
    shape = vl.parse_example if structured else vl.parse_message
    answers = await asyncio.gather(*(ask(vl.candidate_request(m, q, p, seed, config, i, structured), shape)
                                     for i, q, p, m in plans))
    seed_doc = document_text(Document(seed.id, seed.text, seed.title), "row")
    out = []
    for (i, q_words, p_words, messages), answer in zip(plans, answers):
        if not answer.ok:
            outcome.dropped[failure_reason(answer)] += 1
            continue
        meta = {"candidate": i, "target_query_words": q_words, "seed_score": seed.score}
        if structured:
            query, positive = answer.value
            meta.update(task=tasks[i], target_positive_words=p_words)
            out.append(Candidate(i, query, positive, None, messages, answer.text or "", meta))
        else:
            out.append(Candidate(i, answer.value, seed_doc, seed.id, messages, answer.value, meta))
    return out


# --- screening and selection ---------------------------------------------------------------------------------------

def screen(candidates: list[Candidate], kind: Kind, filters: Filters, outcome: Outcome) -> list[Candidate]:
    """Lexical filters; also drops a candidate that repeats an earlier one of the same seed."""
    out, seen = [], set()
    for c in candidates:
        reason = filters.check(kind, c.query, c.positive, target_words=c.meta.get("target_query_words"))
        if reason is None and c.query.strip().lower() in seen:
            reason = "duplicate_query"
        if reason:
            outcome.dropped[reason] += 1
        else:
            seen.add(c.query.strip().lower())
            out.append(c)
    return out


def rank(candidates: list[Candidate], ranker: CorpusRanker | None) -> Ranked | None:
    """Corpus scores and the positive's rank for each candidate (runs in a worker thread: it encodes)."""
    if ranker is None or not candidates:
        return None
    return ranker.rank([c.query for c in candidates], [c.positive for c in candidates],
                       [c.positive_id for c in candidates])


def choose(candidates: list[Candidate], ranked: Ranked | None, filters: Filters, kept_embeddings: list[np.ndarray],
           config: SynthConfig, keep: int, outcome: Outcome) -> list[tuple[Candidate, int | None]]:
    """Round-trip, near-duplicates and the best ``keep``; returns (candidate, row in ``ranked``) pairs."""
    if not candidates:
        return []
    if ranked is None:
        chosen = list(range(min(keep, len(candidates))))
        outcome.dropped["not_selected"] += len(candidates) - len(chosen)
        for i in chosen:
            filters.remember(candidates[i].query)
        return [(candidates[i], None) for i in chosen]
    for r in ranked.ranks:
        if r is None:
            outcome.roundtrip["unknown"] += 1
        else:
            outcome.roundtrip["checked"] += 1
            if config.filters.roundtrip_k is None or r <= config.filters.roundtrip_k:
                outcome.roundtrip["passed"] += 1
    choices = select(ranked.ranks, ranked.positive_scores, ranked.query_embeddings, kept_embeddings,
                     config.filters, keep)
    out = []
    for choice in choices:
        if choice.reason:
            outcome.dropped[choice.reason] += 1
        else:
            filters.remember(candidates[choice.index].query)
            out.append((candidates[choice.index], choice.index))
    return out


def dev_row(candidates: list[Candidate], ranked: Ranked | None, kind: Kind, filters: Filters, config: SynthConfig,
            seed_id: str, model: str, outcome: Outcome) -> list[TrainingRow]:
    """A dev seed's row: its first candidate that passed the lexical filters and whose positive BM25 ranks in the
    top ``roundtrip_k`` (``ranked``: BM25's ranks; no dense model being judged takes part), no negatives
    (``synth.devset``)."""
    k = config.filters.roundtrip_k
    passing = [c for i, c in enumerate(candidates)
               if ranked is None or k is None or (ranked.ranks[i] is not None and ranked.ranks[i] <= k)]
    outcome.dropped["roundtrip"] += len(candidates) - len(passing)
    if not passing:
        return []
    first = min(passing, key=lambda c: c.index)
    outcome.dropped["not_selected"] += len(passing) - 1
    filters.remember(first.query)
    instruction = config.hq.instruction if kind == "hq" else config.vl.instruction
    meta = {"row_id": f"{seed_id}:{kind}:0", **first.meta, "split": DEV_SPLIT, "positive_id": first.positive_id,
            "model": model}
    return [TrainingRow(first.query, [first.positive], [], instruction, kind, seed_id, meta)]


def judge_rows(candidates: list[Candidate], kind: Kind, config: SynthConfig, seed_id: str,
               model: str) -> list[TrainingRow]:
    """A training seed's judge rows: every candidate that passed the lexical filters, whatever any ranker thinks
    of it (so they flatter no model being judged), with no negatives. One of them may also be the seed's training
    row: models are judged only on the rows of seeds they never trained on (``evaluate.crossfit``), and the
    candidates of one seed are resampled together (they are alike, so they count as one seed's evidence)."""
    if not config.judge_rows:
        return []
    instruction = config.hq.instruction if kind == "hq" else config.vl.instruction
    rows = []
    for candidate in sorted(candidates, key=lambda c: c.index):
        meta = {"row_id": f"{seed_id}:{kind}:{JUDGE_SPLIT}{candidate.index}", **candidate.meta, "split": JUDGE_SPLIT,
                "positive_id": candidate.positive_id, "model": model}
        rows.append(TrainingRow(candidate.query, [candidate.positive], [], instruction, kind, seed_id, meta))
    return rows


# --- negatives and the row -----------------------------------------------------------------------------------------

async def make_row(ask: Ask, candidate: Candidate, kind: Kind, ranked: Ranked | None, row: int | None,
                   ranker: CorpusRanker | None, prompts: Prompts, config: SynthConfig, seed_id: str, number: int,
                   model: str, outcome: Outcome) -> TrainingRow:
    """Written negatives (second turn, checked), mined negatives (rank window under the margin), and the row."""
    cfg, counts = config.negatives, outcome.negatives
    pos_score = ranked.positive_scores[row] if (ranked is not None and row is not None) else None
    written: list[str] = []
    if cfg.written > 0:
        request = negatives.written_request(candidate.conversation, candidate.own_turn, prompts, config,
                                            llmcall.item_seed(config.seed, seed_id, kind, candidate.index, "neg"))
        answer = await ask(request, negatives.parse_negatives)
        if answer.ok:
            written = negatives.clean_written(answer.value, candidate.positive, candidate.query, cfg, counts)
            if ranker is not None and written:
                written = await asyncio.to_thread(negatives.guard_written, written, candidate.query, pos_score,
                                                  ranker, cfg, counts)
        else:
            counts["written_failed"] += 1
    mined = negatives.Mined()
    if cfg.mined > 0 and ranked is not None and row is not None and ranker is not None:
        mined = negatives.mine(ranked.scores[row], candidate.positive, candidate.positive_id, pos_score, ranker, cfg,
                               cfg.mined)
        counts.update(mined.rejected)
    counts["written"] += len(written)
    counts["mined"] += len(mined.negatives)
    meta = {"row_id": f"{seed_id}:{kind}:{number}", **candidate.meta, "positive_id": candidate.positive_id,
            "neg_source": ["written"] * len(written) + ["mined"] * len(mined.negatives),
            "mined_ids": [d for d, _ in mined.negatives],
            "positive_rank": ranked.ranks[row] if (ranked is not None and row is not None) else None,
            "positive_score": None if pos_score is None else round(pos_score, 4), "model": model}
    instruction = config.hq.instruction if kind == "hq" else config.vl.instruction
    return TrainingRow(candidate.query, [candidate.positive], written + [t for _, t in mined.negatives], instruction,
                       kind, seed_id, meta)
