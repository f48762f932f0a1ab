"""What a synthesis job did: seeds, candidates sampled and kept per kind, drops per filter, round-trip pass rate,
negatives, the VL lengths reached, tokens, cost and time."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from reasonir.data.records import DEV_SPLIT
from reasonir.synth.seeds import SeedStats

LENGTH_BINS = (0, 100, 200, 300, 500, 800, 1200, 2000)  # words; VL's range is 300-2000 (ReasonIR)


def histogram(values: list[int], bins: tuple[int, ...] = LENGTH_BINS) -> dict[str, int]:
    """Counts per word-length bin, e.g. {"300-499": 4, "2000+": 1}.

    >>> histogram([50, 320, 450, 2500])
    {'0-99': 1, '300-499': 2, '2000+': 1}
    """
    out: Counter = Counter()
    for v in values:
        upper = [b for b in bins if b > v]
        label = f"{max(b for b in bins if b <= v)}-{upper[0] - 1}" if upper else f"{bins[-1]}+"
        out[label] += 1
    return dict(sorted(out.items(), key=lambda kv: int(kv[0].split("-")[0].rstrip("+"))))


@dataclass
class SynthReport:
    """Counts cover the whole job, earlier interrupted runs included (they are read back from the job's ledger);
    ``usage`` and the timings cover this run only."""

    out_path: str
    fingerprint: str
    prompt_style: str = ""
    resumed_items: int = 0  # (seed, kind) outcomes that earlier runs had finished
    not_started: int = 0  # (seed, kind) chains left for a later run when the time budget ran out (this run)
    seeds: SeedStats = field(default_factory=SeedStats)
    seeds_tried: Counter = field(default_factory=Counter)  # per kind
    seeds_with_row: Counter = field(default_factory=Counter)  # per kind: seeds that yielded at least one kept row
    candidates: Counter = field(default_factory=Counter)  # per kind: candidates sampled
    kept: Counter = field(default_factory=Counter)  # per kind
    dropped: Counter = field(default_factory=Counter)  # per filter / failure reason
    roundtrip: Counter = field(default_factory=Counter)  # checked, passed, unknown
    negatives: Counter = field(default_factory=Counter)  # written, mined, and each rejection reason
    vl_query_words: list[int] = field(default_factory=list)  # lengths reached by kept VL queries
    vl_target_words: list[int] = field(default_factory=list)  # lengths asked for (after fitting the window)
    dev_seeds: Counter = field(default_factory=Counter)  # per kind: dev seeds (synth.devset), counted apart
    dev_rows: Counter = field(default_factory=Counter)  # per kind: their rows (the pseudo-dev set)
    judge_rows: Counter = field(default_factory=Counter)  # per kind: training seeds' judge rows (never trained on)
    salvaged: Counter = field(default_factory=Counter)  # answers cut off by max_tokens and closed (this run)
    errors: list[str] = field(default_factory=list)  # the first few LLM / parse failures, verbatim
    usage: dict[str, Any] = field(default_factory=dict)
    usage_text: str = ""
    seconds: float = 0.0
    llm_busy_seconds: float = 0.0  # wall time with at least one LLM request in flight
    setup_seconds: float = 0.0  # seed selection and the corpus ranker, before the first chain starts

    def add(self, entry: dict) -> None:
        """Count one (seed, kind) outcome from the ledger; a dev seed's row counts as a dev row, not a kept one."""
        kind = entry["kind"]
        if entry.get("split") == DEV_SPLIT:
            self.dev_seeds[kind] += 1
            self.dev_rows[kind] += entry.get("kept", 0)
            return
        self.seeds_tried[kind] += 1
        if entry.get("judge"):
            self.judge_rows[kind] += entry["judge"]
        self.candidates[kind] += entry.get("candidates", entry.get("kept", 0))
        if entry.get("kept", 0):
            self.kept[kind] += entry["kept"]
            self.seeds_with_row[kind] += 1
        self.dropped.update(entry.get("dropped", {}))
        self.roundtrip.update(entry.get("roundtrip", {}))
        self.negatives.update(entry.get("negatives", {}))
        if kind == "vl":
            self.vl_query_words.extend(entry.get("query_words", []))
            self.vl_target_words.extend(entry.get("target_words", []))

    @property
    def rows(self) -> int:
        return sum(self.kept.values())

    @property
    def not_waiting_share(self) -> float:
        """Share of wall time in which no LLM request was in flight (pipeline overhead)."""
        return 0.0 if self.seconds <= 0 else max(0.0, 1.0 - self.llm_busy_seconds / self.seconds)

    def rates(self) -> dict[str, Any]:
        """The shares that say whether synthesis works: seeds yielding a kept row per kind, duplicate, filler, round-trip pass."""
        sampled = sum(self.candidates.values()) or 1
        checked = self.roundtrip.get("checked", 0)
        return {
            "seed_yield": {k: round(self.seeds_with_row[k] / n, 3) for k, n in self.seeds_tried.items() if n},
            "duplicate_rate": round((self.dropped.get("duplicate_query", 0)
                                     + self.dropped.get("near_duplicate_query", 0)) / sampled, 3),
            "filler_rate": round(self.dropped.get("filler", 0) / sampled, 3),
            "roundtrip_pass_rate": round(self.roundtrip.get("passed", 0) / checked, 3) if checked else None,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": self.out_path, "fingerprint": self.fingerprint, "prompt_style": self.prompt_style,
            "rows": self.rows, "kept": dict(self.kept), "candidates": dict(self.candidates),
            "dev_seeds": dict(self.dev_seeds), "dev_rows": dict(self.dev_rows),
            "judge_rows": dict(self.judge_rows), "seeds_tried": dict(self.seeds_tried), "seeds_with_row": dict(self.seeds_with_row), **self.rates(),
            "dropped": dict(self.dropped), "roundtrip": dict(self.roundtrip), "negatives": dict(self.negatives),
            "vl_query_words": histogram(self.vl_query_words), "vl_target_words": histogram(self.vl_target_words),
            "salvaged": dict(self.salvaged), "resumed_items": self.resumed_items, "not_started": self.not_started,
            "seeds": {k: v for k, v in asdict(self.seeds).items() if k != "failures"},
            "errors": self.errors[:5] + self.seeds.failures[:5], "usage": self.usage, "seconds": round(self.seconds, 2),
            "setup_seconds": round(self.setup_seconds, 2), "llm_busy_seconds": round(self.llm_busy_seconds, 2),
            "not_waiting_share": round(self.not_waiting_share, 4),
            "rows_per_minute": round(60 * self.rows / self.seconds, 2) if self.seconds else None,
        }

    def format(self) -> str:
        s, r = self.seeds, self.rates()
        lines = [
            f"wrote {self.rows} rows to {self.out_path} ("
            + ", ".join(f"{k}: {v} of {self.candidates[k]} candidates" for k, v in sorted(self.kept.items())) + ")"
            + f", prompt style {self.prompt_style}"
            + (f"; pseudo-dev rows {sum(self.dev_rows.values())} of {sum(self.dev_seeds.values())} dev seeds"
               if self.dev_seeds else "")
            + (f"; {sum(self.judge_rows.values())} judge rows" if self.judge_rows else "")
            + (f"; {self.resumed_items} seeds finished by an earlier run" if self.resumed_items else "")
            + (f"; {self.not_started} (seed, kind) chains left unstarted at the time budget" if self.not_started else ""),
            f"seeds: {s.documents} documents, {s.empty} empty, {s.short} short, {s.duplicate} duplicate, "
            f"{s.truncated} truncated for prompts; {s.candidates} candidates, {s.judge_failed} judge failures, "
            f"{s.below_threshold} below threshold, {s.selected} selected",
            "seeds yielding a row: " + (", ".join(f"{k} {v:.0%}" for k, v in sorted(r["seed_yield"].items()))
                                        or "none")
            + f"; duplicates {r['duplicate_rate']:.0%}, filler {r['filler_rate']:.0%} of candidates"
            + (f"; round-trip pass {r['roundtrip_pass_rate']:.0%}" if r["roundtrip_pass_rate"] is not None else ""),
            "dropped: " + (", ".join(f"{k} {v}" for k, v in sorted(self.dropped.items())) or "none"),
            "negatives: " + (", ".join(f"{k} {v}" for k, v in sorted(self.negatives.items())) or "none"),
        ]
        if self.vl_query_words:
            lines.append("VL query words reached: " + ", ".join(f"{k}: {v}" for k, v in
                                                                histogram(self.vl_query_words).items()))
        if self.salvaged:
            lines.append("answers cut off by max_tokens and closed: "
                         + ", ".join(f"{k} {v}" for k, v in sorted(self.salvaged.items())))
        for err in (self.errors[:3] + s.failures[:2]):
            lines.append(f"  e.g. {err}")
        if self.usage_text:
            lines.append(self.usage_text)
        lines.append(f"time: {self.seconds:.1f} s ({self.setup_seconds:.1f} s setting up), "
                     f"{100 * self.not_waiting_share:.1f}% not waiting for the LLM")
        return "\n".join(lines)
