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

from collections.abc import Sequence
from dataclasses import dataclass

from reasonir.data.records import DEV_SPLIT, Dataset, Document, Query, TrainingRow
from reasonir.evaluate.crossfit import MEASURE, Verdict, compare  # one verdict for both label-free judges
from reasonir.retrieve.base import Retriever


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


__all__ = ["PseudoDev", "Verdict", "compare"]
