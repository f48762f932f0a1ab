"""Evaluate a retriever on a dataset in one call: search, BRIGHT's post-processing, metrics.

This is what the CLI and training-time evaluation both call. Given a ``Pipeline`` (anything with
``search_detailed``), the evaluation also reports what each query cost: FLOPs and tokens per stage, seconds
(``Evaluation.cost``, see :func:`reasonir.retrieve.compute.summarize`) and the rewrites.

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
from reasonir.evaluate.metrics import Measure, MissingQueries, evaluate_per_query, missing_queries
from reasonir.evaluate.runs import TOP_K, prepare_run
from reasonir.retrieve.base import Retriever, Run
from reasonir.retrieve.steps import DetailedSearch


@dataclass
class Evaluation:
    scores: dict[str, float]  # mean over judged queries
    per_query: dict[str, dict[str, float]]
    run: Run
    seconds: dict[str, float] = field(default_factory=dict)  # "index" and "search" wall time
    cost: dict = field(default_factory=dict)  # per-query FLOPs, tokens and seconds (compute.summarize)
    rewrites: dict[str, str] = field(default_factory=dict)  # query id -> rewritten query, when rewriting
    missing: list[str] = field(default_factory=list)  # judged queries the run holds no document for
    options: dict = field(default_factory=dict)  # the evaluation choices made (missing, ignore_identical_ids, k)


def evaluate_retriever(retriever: Retriever, dataset: Dataset, *, k: int = TOP_K, index: bool = True,
                       measures: Iterable[Measure | str] | None = None, missing: MissingQueries = "zero",
                       ignore_identical_ids: bool = False) -> Evaluation:
    """Index ``dataset.documents`` (unless ``index=False``), search its queries, score the top ``k``.

    ``missing``: how a judged query with an empty run counts ("zero", or "skip" as BRIGHT/BEIR);
    ``ignore_identical_ids``: BEIR's rule dropping a retrieved document whose id is the query's.
    """
    from reasonir.retrieve.compute import summarize

    t0 = time.perf_counter()
    if index:
        retriever.index(dataset.documents)
    t1 = time.perf_counter()
    details = retriever.search_detailed(dataset.queries, k=k) if isinstance(retriever, DetailedSearch) else None
    raw = details.run if details is not None else retriever.search(dataset.queries, k=k)
    run = prepare_run(raw, dataset.queries, k=k, ignore_identical_ids=ignore_identical_ids)
    t2 = time.perf_counter()
    per_query = evaluate_per_query(dataset.qrels, run, measures, missing)
    n = max(len(per_query), 1)
    keys = next(iter(per_query.values())).keys() if per_query else []
    scores = {key: sum(q[key] for q in per_query.values()) / n for key in keys}
    if details is not None:
        cost = summarize(details.compute, details.seconds)
        cost["corpus"] = details.corpus
    else:
        cost = {"queries": len(dataset.queries), "seconds_per_query": (t2 - t1) / max(len(dataset.queries), 1),
                "flops_per_query": None}
    options = {"k": k, "missing": missing, "ignore_identical_ids": ignore_identical_ids}
    return Evaluation(scores, per_query, run, {"index": t1 - t0, "search": t2 - t1}, cost,
                      details.rewrites if details is not None else {}, missing_queries(dataset.qrels, run), options)
