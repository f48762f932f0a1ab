"""Accuracy closed-book against with retrieval: intervals, the paired change, parse rate and evidence hit rate.

Built from the per-question records alone (``summarize(records)``), so a resumed run reports on everything it
holds. Statistics: Wilson score intervals for accuracies and rates (Wilson, 1927; it behaves at small n and near
0 or 1, unlike the normal approximation); for the change between modes, a paired bootstrap interval over the same
questions and an exact McNemar test on the questions where the two modes disagree.

Example:
    >>> rows = [{"mode": m, "question_id": str(i), "subject": "s", "correct": c, "how": "bare", "n_choices": 4,
    ...          "evidence_hit": None} for i in range(4) for m, c in (("closed-book", i < 1), ("retrieval", i < 3))]
    >>> r = summarize(rows)
    >>> r.modes["closed-book"].accuracy.accuracy, r.modes["retrieval"].accuracy.accuracy, r.change.wins, r.change.losses
    (0.25, 0.75, 2, 0)
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from reasonir.evaluate.stats import paired_bootstrap
from reasonir.rag.parse import PARSED

Z_95 = 1.959963984540054  # two-sided 95%
MODES = ("closed-book", "retrieval")


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a proportion; (0, 1) when ``n`` is 0.

    >>> [round(x, 3) for x in wilson(8, 10)]
    [0.49, 0.943]
    """
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def mcnemar_exact(wins: int, losses: int) -> float:
    """Two-sided exact McNemar p-value: a binomial test of ``wins`` among the ``wins + losses`` discordant pairs.

    >>> round(mcnemar_exact(9, 1), 4)
    0.0215
    """
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


@dataclass
class Accuracy:
    n: int
    correct: int
    accuracy: float
    ci95: tuple[float, float]

    @classmethod
    def of(cls, correct: int, n: int) -> Accuracy:
        return cls(n, correct, correct / n if n else 0.0, wilson(correct, n))


@dataclass
class ModeSummary:
    accuracy: Accuracy
    parsed: int  # outputs read as a letter
    parse_rate: float
    no_answer: dict[str, int]  # reason (ambiguous, no_letter, empty) -> count; each counted wrong
    by_subject: dict[str, Accuracy]


@dataclass
class Change:
    """Retrieval minus closed-book, on the questions answered both ways."""

    n: int
    delta: float
    ci95: tuple[float, float]  # paired bootstrap
    wins: int  # wrong closed-book, right with retrieval
    losses: int  # right closed-book, wrong with retrieval
    p_value: float  # exact McNemar
    by_subject: dict[str, float] = field(default_factory=dict)


@dataclass
class HitRate:
    """How often a gold evidence document was among the retrieved ones (retriever quality, not reader quality)."""

    n: int
    hits: int
    rate: float
    ci95: tuple[float, float]
    accuracy_when_hit: float | None
    accuracy_when_missed: float | None


@dataclass
class RAGReport:
    questions: int
    modes: dict[str, ModeSummary]
    change: Change | None
    hit_rate: HitRate | None
    chance: float  # expected accuracy of a uniform guess
    majority: float  # accuracy of always answering the most common gold letter (a control for letter bias)
    settings: dict[str, Any] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)  # this invocation: written, resumed, failed, seconds, usage

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_text(self) -> str:
        lines = [f"questions: {self.questions}   chance: {self.chance:.3f}   majority letter: {self.majority:.3f}"]
        subjects = sorted({s for m in self.modes.values() for s in m.by_subject})
        names = [m for m in MODES if m in self.modes]
        width = max([len("subject"), *(len(s) for s in subjects)]) if len(subjects) > 1 else len("subject")
        header = "".ljust(width) + "".join(f"  {m:>22}" for m in names)
        if self.change is not None:
            header += f"  {'change':>8}"
        lines.append(header)

        def cell(a: Accuracy) -> str:
            return f"{a.accuracy:.3f} [{a.ci95[0]:.2f},{a.ci95[1]:.2f}] n={a.n}"

        rows = [("all", {m: self.modes[m].accuracy for m in names}, self.change.delta if self.change else None)]
        if len(subjects) > 1:
            rows += [(s, {m: self.modes[m].by_subject[s] for m in names if s in self.modes[m].by_subject},
                      self.change.by_subject.get(s) if self.change else None) for s in subjects]
        for name, accs, delta in rows:
            line = name.ljust(width) + "".join(f"  {cell(accs[m]) if m in accs else '-':>22}" for m in names)
            if self.change is not None:
                line += f"  {delta:+8.3f}" if delta is not None else f"  {'-':>8}"
            lines.append(line)
        if self.change is not None:
            c = self.change
            lines.append(f"change with retrieval: {c.delta:+.3f} (95% CI {c.ci95[0]:+.3f} to {c.ci95[1]:+.3f}, "
                         f"paired bootstrap); {c.wins} fixed, {c.losses} broken, McNemar p={c.p_value:.3g}")
        for m in names:
            s = self.modes[m]
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(s.no_answer.items())) or "none"
            lines.append(f"parsed ({m}): {s.parsed}/{s.accuracy.n} = {s.parse_rate:.1%}; no answer: {reasons}")
        if self.hit_rate is not None:
            h = self.hit_rate
            fmt = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
            lines.append(f"evidence hit rate (gold document in the top k): {h.hits}/{h.n} = {h.rate:.3f} "
                         f"[{h.ci95[0]:.2f},{h.ci95[1]:.2f}]; accuracy with retrieval when hit "
                         f"{fmt(h.accuracy_when_hit)}, when missed {fmt(h.accuracy_when_missed)}")
        return "\n".join(lines)


def summarize(records: Iterable[Mapping[str, Any]], *, settings: Mapping[str, Any] | None = None) -> RAGReport:
    """A report from per-question records (``mode``, ``question_id``, ``subject``, ``correct``, ``how``,
    ``n_choices``, ``evidence_hit``; optional ``gold``)."""
    by_mode: dict[str, dict[str, Mapping[str, Any]]] = defaultdict(dict)
    for r in records:
        by_mode[r["mode"]][str(r["question_id"])] = r
    modes = {m: _mode_summary(list(by_mode[m].values())) for m in MODES if by_mode.get(m)}
    change = None
    if len(modes) == 2:
        change = _change(by_mode["closed-book"], by_mode["retrieval"])
    every = {qid: r for rows in by_mode.values() for qid, r in rows.items()}
    chance = sum(1 / r["n_choices"] for r in every.values()) / len(every) if every else 0.0
    golds = Counter(r.get("gold") for r in every.values())
    majority = max(golds.values()) / len(every) if every and None not in golds else 0.0
    return RAGReport(len(every), modes, change, _hit_rate(list(by_mode.get("retrieval", {}).values())), chance,
                     majority, dict(settings or {}))


def _mode_summary(rows: list[Mapping[str, Any]]) -> ModeSummary:
    subjects: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        subjects[r.get("subject") or ""].append(bool(r["correct"]))
    parsed = sum(r["how"] in PARSED for r in rows)
    no_answer = Counter(r["how"] for r in rows if r["how"] not in PARSED)
    return ModeSummary(Accuracy.of(sum(bool(r["correct"]) for r in rows), len(rows)), parsed,
                       parsed / len(rows) if rows else 0.0, dict(no_answer),
                       {s: Accuracy.of(sum(v), len(v)) for s, v in sorted(subjects.items())})


def _change(closed: Mapping[str, Mapping[str, Any]], rag: Mapping[str, Mapping[str, Any]]) -> Change:
    both = sorted(set(closed) & set(rag))
    diffs = [int(bool(rag[q]["correct"])) - int(bool(closed[q]["correct"])) for q in both]
    per_subject: dict[str, list[int]] = defaultdict(list)
    for q, d in zip(both, diffs):
        per_subject[closed[q].get("subject") or ""].append(d)
    wins, losses = diffs.count(1), diffs.count(-1)
    return Change(len(both), sum(diffs) / len(both) if both else 0.0, paired_bootstrap(diffs), wins, losses,
                  mcnemar_exact(wins, losses), {s: sum(v) / len(v) for s, v in sorted(per_subject.items())})


def _hit_rate(rows: list[Mapping[str, Any]]) -> HitRate | None:
    judged = [r for r in rows if r.get("evidence_hit") is not None]
    if not judged:
        return None
    hit = [r for r in judged if r["evidence_hit"]]
    missed = [r for r in judged if not r["evidence_hit"]]

    def acc(rs: list[Mapping[str, Any]]) -> float | None:
        return sum(bool(r["correct"]) for r in rs) / len(rs) if rs else None

    return HitRate(len(judged), len(hit), len(hit) / len(judged), wilson(len(hit), len(judged)), acc(hit),
                   acc(missed))
