"""Seed selection: normalise, deduplicate, drop short documents, score reasoning-worthiness, keep the best.

The default scorer is an LLM judge on a 0-5 scale (prompt ``seed_judge``). A user with a classifier (for example
the FineWeb-Edu educational-quality classifier, which ReasonIR used to pick seeds) passes any callable that maps a
batch of texts to scores: ``select_seeds(..., classifier=lambda texts: model.predict(texts))``.
"""
from __future__ import annotations

import asyncio
import hashlib
import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from reasonir.data.records import Document
from reasonir.llm.types import LLM
from reasonir.synth import llmcall
from reasonir.synth.config import SynthConfig
from reasonir.synth.prompts import Prompts
from reasonir.synth.text import normalise, truncate_words, words, wrap_document

Classifier = Callable[[list[str]], Sequence[float]]
JUDGE_SCHEMA = {"type": "object", "properties": {"score": {"type": "integer", "minimum": 0, "maximum": 5}},
                "required": ["score"]}


@dataclass(frozen=True)
class Seed:
    """A selected document: ``prompt_text`` is normalised and truncated for prompts; ``score`` is its judge score."""

    id: str
    title: str
    text: str  # the normalised text (markup removed), untruncated: the HQ positive
    prompt_text: str
    truncated: bool
    score: float | None

    def framed(self) -> str:
        return wrap_document(self.prompt_text, self.title)


@dataclass
class SeedStats:
    documents: int = 0
    empty: int = 0
    short: int = 0
    duplicate: int = 0
    candidates: int = 0
    judged: int = 0
    judge_failed: int = 0
    below_threshold: int = 0
    selected: int = 0
    truncated: int = 0
    failures: list[str] = field(default_factory=list)  # first few judge errors, for the report


def prepare(documents: Sequence[Document], config: SynthConfig, stats: SeedStats,
            context_window: int | None = None) -> list[Seed]:
    """Normalise, drop empty and short documents and exact duplicates (content hash); truncate for prompts to
    ``max_document_words``, or fewer when the LLM's context window is small."""
    budget = llmcall.document_word_budget(config.seeds.max_document_words, context_window)
    seen: set[str] = set()
    out: list[Seed] = []
    for doc in documents:
        stats.documents += 1
        title, body = normalise(doc.title), normalise(doc.text)
        if not body and not title:
            stats.empty += 1
            continue
        tokens = words(f"{title} {body}")  # one tokenisation serves the length test and the hash
        if len(tokens) < config.seeds.min_words:
            stats.short += 1
            continue
        digest = hashlib.sha256(" ".join(tokens).encode("utf-8")).hexdigest()[:20]  # = content_hash(...)
        if digest in seen:
            stats.duplicate += 1
            continue
        seen.add(digest)
        prompt_text, cut = (body, False) if len(tokens) <= budget else truncate_words(body, budget)
        out.append(Seed(doc.id, title, body, prompt_text, cut, None))
    return out


def candidate_pool(prepared: list[Seed], config: SynthConfig, judge: str) -> list[Seed]:
    """The documents worth scoring: all of them, or a seeded sample of n * candidates_per_seed."""
    pool = list(prepared)
    random.Random(config.seed).shuffle(pool)
    n = config.seeds.n
    if n is not None:
        limit = n if judge == "none" else math.ceil(n * config.seeds.candidates_per_seed)
        pool = pool[:limit]
    return pool


class _Greedy:
    temperature, top_p = 0.0, 1.0  # a judge scores: no sampling


def judge_request(seed: Seed, prompts: Prompts, config: SynthConfig):
    small = prompts.style == "small"
    document = seed.prompt_text if small else seed.framed()
    messages = [{"role": "system", "content": prompts.texts["system"]},
                {"role": "user", "content": prompts.render("seed_judge", document=document)}]
    return llmcall.request(messages, None if small else JUDGE_SCHEMA, 16, "seeds.judge", _Greedy, config.seed)


def parse_score(value: object) -> float:
    """A 0-5 score from ``{"score": n}`` or from the first number of a plain-text answer."""
    if isinstance(value, str):
        match = re.search(r"\d+(?:\.\d+)?", value)
        if match is None:
            raise ValueError("no score in the answer")
        value = {"score": match.group(0)}
    score = float(value["score"])  # type: ignore[index]
    if not 0 <= score <= 5:
        raise ValueError(f"score {score} outside 0-5")
    return score


async def select_seeds(
    documents: Sequence[Document],
    llm: LLM | None,
    config: SynthConfig,
    prompts: Prompts,
    *,
    classifier: Classifier | None = None,
    known_scores: dict[str, float | None] | None = None,
    on_scored: Callable[[str, float | None], None] | None = None,
    context_window: int | None = None,
    judge: str | None = None,
) -> tuple[list[Seed], SeedStats]:
    """Pick seeds. ``known_scores`` (from an interrupted run) are reused; ``on_scored`` persists each new score.
    ``judge`` ("llm" or "none") overrides ``config.seeds.judge`` once "auto" has been resolved."""
    judge = judge or config.seeds.judge
    if judge == "auto":
        judge = "llm"
    stats = SeedStats()
    prepared = prepare(documents, config, stats, context_window)
    stats.truncated = sum(s.truncated for s in prepared)
    pool = candidate_pool(prepared, config, judge)
    stats.candidates = len(pool)
    scores: dict[str, float | None] = dict(known_scores or {})
    todo = [s for s in pool if s.id not in scores]
    if judge == "none":
        scores.update({s.id: None for s in todo})
    elif classifier is not None:
        values = await asyncio.to_thread(classifier, [f"{s.title}\n{s.prompt_text}".strip() for s in todo])
        for s, v in zip(todo, values):
            scores[s.id] = float(v)
            if on_scored:
                on_scored(s.id, float(v))
    else:
        if llm is None:
            raise ValueError("an LLM or a classifier is needed to judge seeds (or set seeds.judge='none')")

        async def judge_one(seed: Seed) -> None:
            answer = llmcall.check(await llm.achat(judge_request(seed, prompts, config)), parse_score)
            if not answer.ok and len(stats.failures) < 5:
                stats.failures.append(f"{seed.id}: {answer.error}")
            scores[seed.id] = answer.value
            if on_scored:
                on_scored(seed.id, answer.value)

        await asyncio.gather(*(judge_one(s) for s in todo))
    stats.judged = sum(1 for s in pool if scores.get(s.id) is not None)
    kept: list[tuple[float, int, Seed]] = []
    for order, s in enumerate(pool):
        score = scores.get(s.id)
        if judge != "none" and score is None:
            stats.judge_failed += 1
            continue
        if score is not None and config.seeds.min_score is not None and score < config.seeds.min_score:
            stats.below_threshold += 1
            continue
        kept.append((-(score or 0.0), order, Seed(s.id, s.title, s.text, s.prompt_text, s.truncated, score)))
    kept.sort(key=lambda t: (t[0], t[1]))
    seeds = [s for _, _, s in kept]
    if config.seeds.n is not None:
        seeds = seeds[: config.seeds.n]
    stats.selected = len(seeds)
    return seeds, stats
