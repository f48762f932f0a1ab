"""Label-free evaluation: how well a retriever finds each pseudo-dev query's seed document in the whole corpus.

Pseudo-dev rows (``reasonir.synth.devset``) are synthesized queries whose seed document is known, kept by BM25's
round trip (a ranker none of the judged models is). They are scored like a BEIR set whose one relevant document per
query is the seed, through the same evaluator as real queries (pytrec_eval's nDCG@10 per query), so any retriever can
be judged on them: the base encoder, a teacher (BM25, a hybrid), a fine-tuned model, a merge. One retriever beats another when the 95% paired bootstrap
interval of their per-query differences lies above zero (:func:`compare`).

What it measures is how well a model serves queries *like the synthesized ones* on this corpus: a label-free proxy
for the real queries, whose agreement with real nDCG@10 changes is measured in benchmarks/bench_recipe.py.

    >>> from reasonir.data import Document, TrainingRow
    >>> from reasonir.retrieve import BM25Retriever
    >>> docs = [Document("a", "cats purr when they are content"), Document("b", "dogs bark at strangers")]
    >>> rows = [TrainingRow("why does my cat purr", ["cats purr when they are content"], seed_id="a",
    ...                     meta={"split": "dev"})]
    >>> dev = PseudoDev.from_rows(rows, docs)
    >>> len(dev), dev.score(BM25Retriever())
    (1, {'dev-0': 1.0})
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reasonir.data.records import DEV_SPLIT, Dataset, Document, Query, TrainingRow
from reasonir.evaluate.stats import paired_bootstrap
from reasonir.retrieve.base import Retriever

MEASURE = "ndcg@10"  # the measure BRIGHT and BEIR report, so a pseudo-dev figure reads like a real one


@dataclass
class PseudoDev:
    """The dev rows whose seed is a corpus document, as a dataset over that corpus."""

    dataset: Dataset

    @classmethod
    def from_rows(cls, rows: Sequence[TrainingRow], documents: Sequence[Document]) -> PseudoDev:
        known = {d.id for d in documents}
        dev = [r for r in rows if r.meta.get("split") == DEV_SPLIT and r.seed_id in known]
        queries = [Query(f"dev-{i}", r.query) for i, r in enumerate(dev)]
        qrels = {q.id: {str(r.seed_id): 1} for q, r in zip(queries, dev)}
        return cls(Dataset(list(documents), queries, qrels))

    def __len__(self) -> int:
        return len(self.dataset.queries)

    def score(self, retriever: Retriever, *, index: bool = True) -> dict[str, float]:
        """nDCG@10 per dev query (0 for a query whose seed is not in the top 100); ``index=False`` reuses an index
        the retriever already holds over the same corpus."""
        from reasonir.evaluate.evaluator import evaluate_retriever

        if not self.dataset.queries:
            return {}
        result = evaluate_retriever(retriever, self.dataset, k=100, index=index, measures=[MEASURE])
        return {qid: scores[MEASURE] for qid, scores in result.per_query.items()}


@dataclass(frozen=True)
class Verdict:
    """A candidate against a baseline on the same pseudo-dev queries."""

    n: int
    baseline: float
    candidate: float
    ci95: tuple[float, float]  # of the mean per-query change, paired bootstrap

    @property
    def change(self) -> float:
        return self.candidate - self.baseline

    @property
    def better(self) -> bool:
        """The whole interval lies above zero: more than the dev set's noise."""
        return self.n > 0 and self.ci95[0] > 0

    @property
    def worse(self) -> bool:
        return self.n > 0 and self.ci95[1] < 0

    def describe(self) -> str:
        return (f"pseudo-dev {MEASURE} {self.baseline:.3f} -> {self.candidate:.3f} ({self.change:+.3f}, 95% CI "
                f"{self.ci95[0]:+.3f} to {self.ci95[1]:+.3f}, {self.n} queries)")

    def as_dict(self) -> dict[str, object]:
        return {"n": self.n, "baseline": round(self.baseline, 4), "candidate": round(self.candidate, 4),
                "change": round(self.change, 4), "ci95": [round(x, 4) for x in self.ci95], "better": self.better,
                "worse": self.worse}


def compare(baseline: Mapping[str, float], candidate: Mapping[str, float]) -> Verdict:
    """The candidate's per-query scores against the baseline's, on the queries both were scored on.

    >>> v = compare({"q1": 0.5, "q2": 0.0, "q3": 1.0}, {"q1": 1.0, "q2": 0.5, "q3": 1.0})
    >>> round(v.change, 3), v.n
    (0.333, 3)
    """
    shared = sorted(set(baseline) & set(candidate))
    if not shared:
        return Verdict(0, 0.0, 0.0, (0.0, 0.0))
    base = [baseline[q] for q in shared]
    cand = [candidate[q] for q in shared]
    return Verdict(len(shared), sum(base) / len(shared), sum(cand) / len(shared),
                   paired_bootstrap([c - b for b, c in zip(base, cand)]))
