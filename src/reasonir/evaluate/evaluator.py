"""Evaluate a retriever on a dataset in one call: search, BRIGHT's post-processing, metrics.

This is what the CLI and training-time evaluation both call.

Example:
    >>> from reasonir.data import Dataset, Document, Query
    >>> from reasonir.retrieve import BM25Retriever
    >>> ds = Dataset([Document("d1", "cats purr"), Document("d2", "dogs bark")], [Query("q", "cats")], {"q": {"d1": 1}})
    >>> evaluate_retriever(BM25Retriever(), ds, measures=["nDCG@10"]).scores
    {'ndcg@10': 1.0}
"""
from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from reasonir.data.records import Dataset
from reasonir.evaluate.metrics import Measure, evaluate_per_query
from reasonir.evaluate.runs import TOP_K, prepare_run
from reasonir.retrieve.base import Retriever, Run


@dataclass
class Evaluation:
    scores: dict[str, float]  # mean over judged queries
    per_query: dict[str, dict[str, float]]
    run: Run
    seconds: dict[str, float] = field(default_factory=dict)  # "index" and "search" wall time


def evaluate_retriever(retriever: Retriever, dataset: Dataset, *, k: int = TOP_K, index: bool = True,
                       measures: Iterable[Measure | str] | None = None) -> Evaluation:
    """Index ``dataset.documents`` (unless ``index=False``), search its queries, score the top ``k``."""
    t0 = time.perf_counter()
    if index:
        retriever.index(dataset.documents)
    t1 = time.perf_counter()
    run = prepare_run(retriever.search(dataset.queries, k=k), dataset.queries, k=k)
    t2 = time.perf_counter()
    per_query = evaluate_per_query(dataset.qrels, run, measures)
    n = max(len(per_query), 1)
    keys = next(iter(per_query.values())).keys() if per_query else []
    scores = {key: sum(q[key] for q in per_query.values()) / n for key in keys}
    return Evaluation(scores, per_query, run, {"index": t1 - t0, "search": t2 - t1})
