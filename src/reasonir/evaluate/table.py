"""Side-by-side comparison of several retrievers on one dataset, as text or JSON.

Example:
    >>> t = Comparison("toy", ["ndcg@10"], {"bm25": {"ndcg@10": 0.5}, "dense": {"ndcg@10": 0.75}})
    >>> print(t.to_text())
    dataset: toy
    retriever  ndcg@10
    bm25        0.5000
    dense      *0.7500
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from reasonir.data.records import Dataset
from reasonir.evaluate.evaluator import evaluate_retriever
from reasonir.evaluate.metrics import Measure, MissingQueries, parse_measure
from reasonir.evaluate.runs import TOP_K
from reasonir.retrieve.base import Retriever
from reasonir.retrieve.steps import DetailedSearch

TABLE_MEASURES = ("ndcg@10", "recall@10", "recall@100", "map@10", "mrr")  # BRIGHT reports nDCG@10 first


@dataclass
class Comparison:
    dataset: str
    measures: list[str]
    rows: dict[str, dict[str, float]]  # retriever name -> measure key -> mean score
    seconds: dict[str, dict[str, float]] = field(default_factory=dict)  # retriever name -> index/search time
    cost: dict[str, dict] = field(default_factory=dict)  # name -> per-query FLOPs/seconds (pipelines only)
    notes: list[str] = field(default_factory=list)  # evaluation choices, printed under the table

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "measures": self.measures, "results": self.rows, "seconds": self.seconds,
                "cost": self.cost, "notes": self.notes}

    def to_text(self) -> str:
        """A fixed-width table; ``*`` marks the best value of each column."""
        from reasonir.retrieve.compute import format_flops

        name_w = max([len("retriever")] + [len(n) for n in self.rows])
        widths = [max(len(m), 7) for m in self.measures]
        best = {m: max((r.get(m, float("-inf")) for r in self.rows.values()), default=None) for m in self.measures}
        cost_head = f"  {'FLOPs/query':>11}  {'s/query':>8}" if self.cost else ""
        lines = [f"dataset: {self.dataset}", "retriever".ljust(name_w) + "".join(f"  {m:>{w}}" for m, w in
                                                                                 zip(self.measures, widths)) + cost_head]
        for name, row in self.rows.items():
            cells = []
            for m, w in zip(self.measures, widths):
                mark = "*" if len(self.rows) > 1 and row.get(m) == best[m] else ""
                cells.append("  " + f"{mark}{row.get(m, float('nan')):.4f}".rjust(w))
            if self.cost:
                c = self.cost.get(name, {})
                cells.append(f"  {format_flops(c.get('flops_per_query')):>11}  {c.get('seconds_per_query', float('nan')):8.3f}")
            lines.append(name.ljust(name_w) + "".join(cells))
        return "\n".join(lines + self.notes)


def compare_retrievers(dataset: Dataset, retrievers: Mapping[str, Retriever], *, name: str = "",
                       measures: Iterable[Measure | str] = TABLE_MEASURES, k: int = TOP_K,
                       missing: MissingQueries = "zero", ignore_identical_ids: bool = False) -> Comparison:
    """Evaluate each retriever (or ``Pipeline``) on ``dataset`` and gather the means into one :class:`Comparison`;
    pipelines also fill ``cost`` (FLOPs and seconds per query)."""
    chosen = [m if isinstance(m, Measure) else parse_measure(m) for m in measures]
    rows, seconds, cost, missing_counts = {}, {}, {}, {}
    for label, retriever in retrievers.items():
        result = evaluate_retriever(retriever, dataset, k=k, measures=chosen, missing=missing,
                                    ignore_identical_ids=ignore_identical_ids)
        rows[label], seconds[label] = result.scores, result.seconds
        missing_counts[label] = len(result.missing)
        if isinstance(retriever, DetailedSearch):
            cost[label] = result.cost
    notes = []
    if any(missing_counts.values()):
        how = "averaged as 0" if missing == "zero" else "left out of the means"
        notes.append(f"queries with no retrieved document ({how}): " +
                     ", ".join(f"{k} {v}" for k, v in missing_counts.items()))
    return Comparison(name, [m.key for m in chosen], rows, seconds, cost, notes)
