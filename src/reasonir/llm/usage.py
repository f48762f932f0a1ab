"""Token usage, retries, failures and cost of a job, per tag and per model.

Every backend keeps one ``UsageReport``; ``llm.usage()`` returns it. Jobs print ``report.format()`` as their closing
line and may write ``report.as_dict()`` beside their output.

Example:
    >>> from reasonir.llm.prices import Price
    >>> report = UsageReport(prices={"m": Price(1.0, 2.0)})
    >>> report.record_answer("m", "hq.query", prompt_tokens=1000, completion_tokens=500)
    >>> report.record_retry("m", "hq.query", "429")
    >>> report.format()
    'llm m: 1 requests (0 cached), 1 retries (429: 1), 0 failures, 1,000 prompt + 500 completion tokens, $0.0020'
"""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from reasonir.llm.prices import Price, price_for

RetryCause = Literal["429", "5xx", "timeout", "connection", "invalid_response"]
FailureKind = Literal["retries_exhausted", "invalid_json", "schema", "http_error"]


@dataclass
class UsageCounts:
    """Counters for one (model, tag) pair; ``requests`` counts answered requests, cached ones included."""

    requests: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0  # paid tokens only: a cache hit costs nothing
    completion_tokens: int = 0
    retries: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)

    def add(self, other: UsageCounts) -> None:
        self.requests += other.requests
        self.cache_hits += other.cache_hits
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.retries.update(other.retries)
        self.failures.update(other.failures)

    def minus(self, other: UsageCounts) -> UsageCounts:
        return UsageCounts(self.requests - other.requests, self.cache_hits - other.cache_hits,
                           self.prompt_tokens - other.prompt_tokens, self.completion_tokens - other.completion_tokens,
                           self.retries - other.retries, self.failures - other.failures)

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "cache_hits": self.cache_hits,
                "retries": sum(self.retries.values()), "retries_by_cause": dict(self.retries),
                "failures": sum(self.failures.values()), "failures_by_kind": dict(self.failures),
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}


class UsageReport:
    """Thread-safe counters keyed by ``(model, tag)``, with cost from a price table."""

    def __init__(self, prices: Mapping[str, Price] | None = None) -> None:
        self.prices: Mapping[str, Price] = prices or {}
        self._by_key: dict[tuple[str, str], UsageCounts] = {}
        self._lock = threading.Lock()

    def _counts(self, model: str, tag: str) -> UsageCounts:
        return self._by_key.setdefault((model, tag), UsageCounts())

    # ---- recording ----------------------------------------------------------------------------------------------
    def record_answer(self, model: str, tag: str, *, prompt_tokens: int = 0, completion_tokens: int = 0,
                      cached: bool = False) -> None:
        with self._lock:
            c = self._counts(model, tag)
            c.requests += 1
            if cached:
                c.cache_hits += 1
            else:
                c.prompt_tokens += prompt_tokens
                c.completion_tokens += completion_tokens

    def record_retry(self, model: str, tag: str, cause: RetryCause) -> None:
        with self._lock:
            self._counts(model, tag).retries[cause] += 1

    def record_failure(self, model: str, tag: str, kind: FailureKind, *, answered: bool = False) -> None:
        """A request that produced no usable result; ``answered`` when record_answer already counted it."""
        with self._lock:
            c = self._counts(model, tag)
            c.failures[kind] += 1
            if not answered:
                c.requests += 1

    # ---- reading ------------------------------------------------------------------------------------------------
    def snapshot(self) -> UsageReport:
        """A frozen copy, to measure one job on an LLM object that lives longer (``since``)."""
        copy = UsageReport(self.prices)
        with self._lock:
            for key, c in self._by_key.items():
                copy._counts(*key).add(c)
        return copy

    def merge(self, other: UsageReport) -> UsageReport:
        """Add ``other``'s counters to these (one report for LLM clients in several processes); returns self.

        >>> a, b = UsageReport(), UsageReport()
        >>> a.record_answer("m", "t", prompt_tokens=5); b.record_answer("m", "t", prompt_tokens=7)
        >>> a.merge(b).total().prompt_tokens
        12
        """
        copy = other.snapshot()
        with self._lock:
            for key, c in copy._by_key.items():
                self._counts(*key).add(c)
        return self

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (a lock is not), so a report can travel back from a worker process."""
        return {"prices": self.prices, "by_key": self.snapshot()._by_key}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.prices, self._by_key, self._lock = state["prices"], state["by_key"], threading.Lock()

    def since(self, earlier: UsageReport) -> UsageReport:
        """What was used after ``earlier`` (a ``snapshot``): one job's usage, not the LLM object's lifetime.

        >>> u = UsageReport(); u.record_answer("m", "t", prompt_tokens=5)
        >>> before = u.snapshot(); u.record_answer("m", "t", prompt_tokens=7)
        >>> u.since(before).total().prompt_tokens
        7
        """
        out = UsageReport(self.prices)
        with self._lock:
            items = list(self._by_key.items())
        for key, c in items:
            diff = c.minus(earlier._by_key.get(key, UsageCounts()))
            if diff.requests or diff.prompt_tokens or diff.completion_tokens or diff.retries or diff.failures:
                out._by_key[key] = diff
        return out

    def total(self) -> UsageCounts:
        out = UsageCounts()
        with self._lock:
            for c in self._by_key.values():
                out.add(c)
        return out

    def by(self, what: Literal["model", "tag"]) -> dict[str, UsageCounts]:
        out: dict[str, UsageCounts] = {}
        with self._lock:
            for (model, tag), c in self._by_key.items():
                out.setdefault(model if what == "model" else tag, UsageCounts()).add(c)
        return out

    def cost(self) -> float | None:
        """USD for the paid tokens; None when a used model has no price (set one with --llm-prices)."""
        total = 0.0
        for model, c in self.by("model").items():
            if c.prompt_tokens == c.completion_tokens == 0:
                continue
            price = price_for(self.prices, model)
            if price is None:
                return None
            total += price.cost(c.prompt_tokens, c.completion_tokens)
        return total

    @property
    def requests(self) -> int:
        return self.total().requests

    @property
    def cache_hits(self) -> int:
        return self.total().cache_hits

    @property
    def retries(self) -> dict[str, int]:
        return dict(self.total().retries)

    @property
    def failures(self) -> int:
        return sum(self.total().failures.values())

    def format(self) -> str:
        """One closing line for a job."""
        t = self.total()
        models = ", ".join(sorted(self.by("model"))) or "-"
        retries = sum(t.retries.values())
        causes = ", ".join(f"{k}: {v}" for k, v in sorted(t.retries.items()))
        failures = sum(t.failures.values())
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(t.failures.items()))
        cost = self.cost()
        cost_text = f"${cost:.4f}" if cost is not None else "cost unknown (no price for a model; see --llm-prices)"
        return (f"llm {models}: {t.requests} requests ({t.cache_hits} cached), {retries} retries"
                f"{f' ({causes})' if causes else ''}, {failures} failures{f' ({kinds})' if kinds else ''}, "
                f"{t.prompt_tokens:,} prompt + {t.completion_tokens:,} completion tokens, {cost_text}")

    def as_dict(self) -> dict[str, Any]:
        return {**self.total().as_dict(), "cost_usd": self.cost(),
                "by_model": {k: v.as_dict() for k, v in sorted(self.by("model").items())},
                "by_tag": {k: v.as_dict() for k, v in sorted(self.by("tag").items())}}

    def __repr__(self) -> str:
        return f"UsageReport({self.format()!r})"
