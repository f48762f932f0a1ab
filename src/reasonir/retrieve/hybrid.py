"""Hybrid retrieval: fuse the runs of several retrievers.

Two fusions:
- ``weighted``: min-max normalize each retriever's scores per query to [0, 1] (over the documents it returned:
  ``reasonir.retrieve.scoring.minmax`` with ``over="results"``), then take the weighted sum (a document a retriever
  did not return counts 0 for it);
- ``rrf``: reciprocal-rank fusion, ``sum_i w_i / (rrf_k + rank_i)`` with ``rrf_k=60`` (Cormack, Clarke and
  Buettcher, SIGIR 2009).

Example:
    >>> fuse_rrf([{"q": {"a": 9.0, "b": 1.0}}, {"q": {"b": 0.9, "a": 0.1}}], [1.0, 1.0])["q"]["a"] == 1 / 61 + 1 / 62
    True
    >>> sorted(fuse_weighted([{"q": {"a": 9.0, "b": 1.0}}, {"q": {"b": 0.9, "c": 0.1}}], [0.5, 0.5])["q"].items())
    [('a', 0.5), ('b', 0.5), ('c', 0.0)]
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from reasonir.data.records import Document, Query
from reasonir.retrieve import store
from reasonir.retrieve.base import Retriever, Run
from reasonir.retrieve.scoring import minmax_scores, ranked

RRF_K = 60  # Cormack et al. (2009)
# Each part's top documents fused per query. Min-max normalization reads the lowest score kept, so a fixed depth
# keeps a query's top 10 the same whether 10 or 100 results were asked for (and the same as adapt's judge saw).
FUSION_DEPTH = 100
FusionMethod = Literal["weighted", "rrf"]


def fuse_weighted(runs: Sequence[Run], weights: Sequence[float]) -> Run:
    """Weighted sum of per-query min-max normalized scores."""
    fused: Run = {}
    for run, weight in zip(runs, weights):
        for qid, scores in run.items():
            out = fused.setdefault(qid, {})
            for doc, s in minmax_scores(scores, over="results").items():
                out[doc] = out.get(doc, 0.0) + weight * s
    return fused


def fuse_rrf(runs: Sequence[Run], weights: Sequence[float], rrf_k: int = RRF_K) -> Run:
    """Weighted reciprocal-rank fusion; ranks start at 1, ties broken by document id for determinism."""
    fused: Run = {}
    for run, weight in zip(runs, weights):
        for qid, scores in run.items():
            out = fused.setdefault(qid, {})
            for rank, (doc, _) in enumerate(ranked(scores), start=1):
                out[doc] = out.get(doc, 0.0) + weight / (rrf_k + rank)
    return fused


def top_k(run: Run, k: int) -> Run:
    """Keep each query's ``k`` best documents (ties broken by document id)."""
    return {qid: dict(ranked(s)[:k]) for qid, s in run.items()}


class HybridRetriever:
    """Fuse several retrievers (e.g. BM25 and dense). ``weights`` default to equal weights."""

    kind = "hybrid"

    def __init__(self, retrievers: Sequence[Retriever], weights: Sequence[float] | None = None,
                 method: FusionMethod = "weighted", rrf_k: int = RRF_K) -> None:
        if not retrievers:
            raise ValueError("a hybrid needs at least one retriever")
        if weights is not None and len(weights) != len(retrievers):
            raise ValueError(f"{len(weights)} weights for {len(retrievers)} retrievers")
        if method not in ("weighted", "rrf"):
            raise ValueError(f"unknown fusion method {method!r}; expected 'weighted' or 'rrf'")
        self.retrievers = list(retrievers)
        self.weights = list(weights) if weights is not None else [1.0 / len(retrievers)] * len(retrievers)
        self.method, self.rrf_k = method, rrf_k

    def index(self, documents: Sequence[Document]) -> HybridRetriever:
        for r in self.retrievers:
            r.index(documents)
        return self

    def search(self, queries: Sequence[Query], k: int = 1000) -> Run:
        depth = max(k, FUSION_DEPTH)
        runs = [r.search(queries, k=depth) for r in self.retrievers]  # each already leaves out excluded ids
        fused = fuse_rrf(runs, self.weights, self.rrf_k) if self.method == "rrf" else fuse_weighted(runs, self.weights)
        fused = top_k(fused, k)
        return {q.id: fused.get(q.id, {}) for q in queries}

    def save(self, folder: str | Path, *, overwrite: bool = False) -> Path:
        """Each part goes to ``part-<i>/`` inside the folder; :meth:`load` restores the whole."""
        settings = {"weights": self.weights, "method": self.method, "rrf_k": self.rrf_k,
                    "parts": [f"part-{i}" for i in range(len(self.retrievers))]}
        with store.writing_index(folder, self.kind, settings, overwrite=overwrite) as tmp:
            for i, r in enumerate(self.retrievers):
                r.save(tmp / f"part-{i}")  # type: ignore[attr-defined]
            # the parts index the same documents: one copy at the top shows them in search results and the server
            store.write_documents(tmp, None, source=next((tmp / p for p in settings["parts"]
                                                          if (tmp / p / "documents.jsonl").exists()), None))
        return Path(folder)

    @classmethod
    def load(cls, folder: str | Path, **kwargs) -> HybridRetriever:
        folder = Path(folder)
        manifest = store.read_manifest(folder)
        parts = [store.load_index(folder / p, **(kwargs if store.read_manifest(folder / p)["kind"] == "dense" else {}))
                 for p in manifest["parts"]]
        return cls(parts, manifest["weights"], manifest["method"], manifest["rrf_k"])
