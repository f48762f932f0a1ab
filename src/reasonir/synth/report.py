"""What a synthesis job did: seeds, rows kept per kind, drops per filter, negatives, tokens, cost and time."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from reasonir.synth.seeds import SeedStats


@dataclass
class SynthReport:
    """Counts cover the whole job, earlier interrupted runs included (they are read back from the job's ledger);
    ``usage`` and the timings cover this run only."""

    out_path: str
    fingerprint: str
    resumed_items: int = 0  # items (kept or dropped) that earlier runs had finished
    seeds: SeedStats = field(default_factory=SeedStats)
    kept: Counter = field(default_factory=Counter)  # per kind
    dropped: Counter = field(default_factory=Counter)  # per filter / failure reason
    negatives: Counter = field(default_factory=Counter)  # written, mined, and each rejection reason
    salvaged: Counter = field(default_factory=Counter)  # answers cut off by max_tokens and closed (this run)
    errors: list[str] = field(default_factory=list)  # the first few LLM / JSON failures, verbatim
    usage: dict[str, Any] = field(default_factory=dict)
    usage_text: str = ""
    seconds: float = 0.0
    llm_busy_seconds: float = 0.0  # wall time with at least one LLM request in flight
    setup_seconds: float = 0.0  # seed selection (preparing and judging), before the first chain starts

    @property
    def rows(self) -> int:
        return sum(self.kept.values())

    @property
    def not_waiting_share(self) -> float:
        """Share of wall time in which no LLM request was in flight (pipeline overhead)."""
        return 0.0 if self.seconds <= 0 else max(0.0, 1.0 - self.llm_busy_seconds / self.seconds)

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": self.out_path, "fingerprint": self.fingerprint, "rows": self.rows, "kept": dict(self.kept),
            "dropped": dict(self.dropped), "negatives": dict(self.negatives), "salvaged": dict(self.salvaged), "resumed_items": self.resumed_items,
            "seeds": {k: v for k, v in asdict(self.seeds).items() if k != "failures"},
            "errors": self.errors[:5] + self.seeds.failures[:5], "usage": self.usage, "seconds": round(self.seconds, 2),
            "setup_seconds": round(self.setup_seconds, 2), "llm_busy_seconds": round(self.llm_busy_seconds, 2),
            "not_waiting_share": round(self.not_waiting_share, 4),
        }

    def format(self) -> str:
        s = self.seeds
        lines = [
            f"wrote {self.rows} rows to {self.out_path} ("
            + ", ".join(f"{k}: {v}" for k, v in sorted(self.kept.items())) + ")"
            + (f"; {self.resumed_items} items finished by an earlier run" if self.resumed_items else ""),
            f"seeds: {s.documents} documents, {s.empty} empty, {s.short} short, {s.duplicate} duplicate, "
            f"{s.truncated} truncated for prompts; {s.candidates} candidates, {s.judge_failed} judge failures, "
            f"{s.below_threshold} below threshold, {s.selected} selected",
            "dropped: " + (", ".join(f"{k} {v}" for k, v in sorted(self.dropped.items())) or "none"),
            "negatives: " + (", ".join(f"{k} {v}" for k, v in sorted(self.negatives.items())) or "none"),
        ]
        if self.salvaged:
            lines.append("answers cut off by max_tokens and closed: "
                         + ", ".join(f"{k} {v}" for k, v in sorted(self.salvaged.items())))
        for err in (self.errors[:3] + s.failures[:2]):
            lines.append(f"  e.g. {err}")
        if self.usage_text:
            lines.append(self.usage_text)
        lines.append(f"time: {self.seconds:.1f} s ({self.setup_seconds:.1f} s selecting seeds), "
                     f"{100 * self.not_waiting_share:.1f}% not waiting for the LLM")
        return "\n".join(lines)
