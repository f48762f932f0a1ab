"""Filters every candidate row passes before it is written; the first that fails names the drop in the report.

Order: length bounds, leakage (a long span copied from the positive), mentions of the source ("the document",
"this study": a standalone query never points at a text it was not given), duplicate queries, round-trip consistency
(optional: the positive must rank in the top k of the miner's retriever; skipped where the rank is unknown). Invalid JSON is counted where answers are
parsed (``llmcall.check``), before a row exists.

Example:
    >>> from reasonir.synth.config import FilterConfig
    >>> f = Filters(FilterConfig(min_query_words=3, min_positive_words=3))
    >>> f.check("hq", "why does ice float on water", "Ice is less dense than liquid water because ...")
    >>> f.check("hq", "Why does ice  float on water?", "anything at all, a positive of some length here")
    'duplicate_query'
"""
from __future__ import annotations

import re
from typing import Literal

from reasonir.synth.config import FilterConfig
from reasonir.synth.text import content_hash, count_words, longest_shared_span

DropReason = Literal["length", "leakage", "mentions_source", "duplicate_query", "roundtrip"]
_MENTIONS_SOURCE = re.compile(r"\b(?:the|this|that|above|given|provided|following)\s+(?:document|text|passage|article|"
                              r"abstract|excerpt|study|paper)\b", re.I)


class Filters:
    """Stateful only in the set of queries already kept (seeded from the output file when resuming)."""

    def __init__(self, config: FilterConfig, kept_queries: list[str] | None = None) -> None:
        self.config = config
        self._seen = {content_hash(q) for q in kept_queries or []}

    def length_ok(self, kind: str, query: str, positive: str, target_words: int | None = None) -> bool:
        c, n = self.config, count_words(query)
        if not c.min_query_words <= n <= c.max_query_words or count_words(positive) < c.min_positive_words:
            return False
        return not (kind == "vl" and target_words and n < c.vl_min_length_ratio * target_words)

    def leaks(self, query: str, positive: str) -> bool:
        return longest_shared_span(query, positive) >= self.config.leak_span_words

    def check(self, kind: str, query: str, positive: str, *, target_words: int | None = None,
              positive_rank: int | None = None) -> DropReason | None:
        """The reason to drop this row, or None to keep it (a kept query is remembered for the duplicate test)."""
        if not self.length_ok(kind, query, positive, target_words):
            return "length"
        if self.leaks(query, positive):
            return "leakage"
        if self.config.drop_mentions_of_source and _MENTIONS_SOURCE.search(query):
            return "mentions_source"
        digest = content_hash(query)
        if digest in self._seen:
            return "duplicate_query"
        k = self.config.roundtrip_k
        # an unknown rank (a VL positive under BM25, which cannot score text outside its index) is not checked
        if k is not None and positive_rank is not None and positive_rank > k:
            return "roundtrip"
        self._seen.add(digest)
        return None
