"""Filters every candidate passes before it can become a row; the first that fails names the drop in the report.

Lexical, per candidate (``Filters.check``): length bounds, filler and refusals ("I am ready to...", "the given
information"), leakage (a long span copied from the positive), mentions of the source ("the document", "this study":
a standalone query never points at a text it was not given), exact duplicates of a query already kept. Then, over a
seed's surviving candidates (``select``): round-trip consistency (the positive must rank in the top k of the
corpus), semantic near-duplicates (embedding cosine to a kept query), and the best-ranked are kept. Invalid JSON is
counted where answers are parsed (``llmcall.check``), before a candidate exists.

Example:
    >>> from reasonir.synth.config import FilterConfig
    >>> f = Filters(FilterConfig(min_query_words=3, min_positive_words=3))
    >>> f.check("hq", "why does ice float on water", "Ice is less dense than liquid water because ...")
    >>> f.remember("why does ice float on water")
    >>> f.check("hq", "Why does ice  float on water?", "anything at all, a positive of some length here")
    'duplicate_query'
    >>> f.check("hq", "I am ready to provide a question about the given information.", "Ice is less dense ...")
    'filler'
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from reasonir.synth.config import FilterConfig
from reasonir.synth.text import content_hash, count_words, longest_shared_span

DropReason = Literal["length", "filler", "leakage", "mentions_source", "duplicate_query", "roundtrip",
                     "near_duplicate_query", "not_selected"]
_MENTIONS_SOURCE = re.compile(r"\b(?:the|this|that|above|given|provided|following)\s+(?:original\s+|above\s+|given\s+)?"
                              r"(?:document|text|passage|article|abstract|excerpt|study|paper|review|facts)\b", re.I)
# Refusals, meta-talk and filler seen in small models' answers (SmolLM2 writes all of these); a query that talks about
# the task instead of posing a problem teaches a retriever nothing.
FILLER = re.compile(
    r"\b(?:i\s*(?:am|'m)\s+(?:ready|happy|glad|here|sorry|unable|not able)|i\s+(?:can(?:not|'t)|would\s+be\s+happy|"
    r"will\s+(?:now\s+)?(?:write|provide|create))|as\s+an\s+ai|language\s+model|the\s+given\s+(?:information|"
    r"text|context|question)|the\s+answer\s+to\s+(?:this|the)\s+question\s+(?:is|would\s+be|will\s+be)|"
    r"follow-up\s+question|possible\s+question|(?:here\s+is|provide|write|create|generate)\s+"
    r"(?:a|an|the|one)\s+(?:question|query|passage|message)|i\s+(?:am|'m)\s+looking\s+for\s+a\s+question|"
    r"here(?:'s|\s+is|\s+are)\s+(?:an?\s+)?(?:example|passage|question|query|message|text)|as\s+follows|"
    r"let\s+me\s+know|please\s+provide|feel\s+free|hope\s+this\s+helps|in\s+this\s+(?:task|exercise)|"
    r"the\s+question\s+(?:that\s+)?you\s+asked|the\s+answer\s+(?:to\s+[^:]{0,80}\s+)?(?:is|would\s+be)(?=\s*:)|"
    r"^\s*title(?=\s*:))\b",
    re.I | re.M)


def is_filler(text: str) -> bool:
    return bool(FILLER.search(text))


class Filters:
    """Stateful only in the set of queries already kept (seeded from the output file when resuming)."""

    def __init__(self, config: FilterConfig, kept_queries: Sequence[str] | None = None) -> None:
        self.config = config
        self._seen = {content_hash(q) for q in kept_queries or []}

    def length_ok(self, kind: str, query: str, positive: str, target_words: int | None = None) -> bool:
        c, n = self.config, count_words(query)
        if not c.min_query_words <= n <= c.max_query_words or count_words(positive) < c.min_positive_words:
            return False
        return not (kind == "vl" and target_words and n < min(c.vl_min_length_ratio * target_words, c.vl_enough_words))

    def leaks(self, query: str, positive: str) -> bool:
        return longest_shared_span(query, positive) >= self.config.leak_span_words

    def check(self, kind: str, query: str, positive: str, *, target_words: int | None = None) -> DropReason | None:
        """The lexical reason to drop this candidate, or None to let it on to selection."""
        if not self.length_ok(kind, query, positive, target_words):
            return "length"
        if self.config.drop_filler and is_filler(query):
            return "filler"
        if self.leaks(query, positive):
            return "leakage"
        if self.config.drop_mentions_of_source and _MENTIONS_SOURCE.search(query):
            return "mentions_source"
        if content_hash(query) in self._seen:
            return "duplicate_query"
        return None

    def remember(self, query: str) -> None:
        self._seen.add(content_hash(query))


@dataclass
class Choice:
    """The outcome of selection for one candidate: kept, or the reason it was not."""

    index: int
    reason: DropReason | None


def select(ranks: Sequence[int | None], scores: Sequence[float | None], embeddings: np.ndarray | None,
           kept_embeddings: list[np.ndarray], config: FilterConfig, keep: int) -> list[Choice]:
    """Round-trip check, near-duplicate check and the best ``keep`` of one seed's lexically clean candidates.

    Candidates are ordered by the positive's rank (then its score), so the best-placed query wins (InPars keeps the
    best-scoring share). A kept candidate's embedding joins ``kept_embeddings`` so later ones are compared to it.

    >>> from reasonir.synth.config import FilterConfig
    >>> [c.reason for c in select([3, 40, 1], [0.5, 0.1, 0.7], None, [], FilterConfig(roundtrip_k=10), keep=1)]
    ['not_selected', 'roundtrip', None]
    """
    k = config.roundtrip_k
    order = sorted(range(len(ranks)), key=lambda i: (ranks[i] if ranks[i] is not None else 10**9,
                                                     -(scores[i] or 0.0), i))
    out: dict[int, DropReason | None] = {}
    chosen = 0
    for i in order:
        rank = ranks[i]
        if k is not None and rank is not None and rank > k:
            out[i] = "roundtrip"
            continue
        if embeddings is not None and kept_embeddings:
            if float(np.max(np.stack(kept_embeddings) @ embeddings[i])) >= config.near_duplicate_query_cosine:
                out[i] = "near_duplicate_query"
                continue
        if chosen >= keep:
            out[i] = "not_selected"
            continue
        out[i] = None
        chosen += 1
        if embeddings is not None:
            kept_embeddings.append(embeddings[i])
    return [Choice(i, out[i]) for i in range(len(ranks))]
