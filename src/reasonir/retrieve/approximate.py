"""Approximate dense indexes from FAISS index-factory strings, and how much of exact search they recover.

A factory string names the structure: ``"HNSW32"`` (graph, 32 links per node; no training), ``"IVF1024,Flat"``
(1024 k-means cells, vectors kept exactly), ``"IVF1024,PQ32"`` (cells, vectors compressed to 32 bytes). All use
inner product, i.e. cosine on the unit vectors dense retrieval stores. Search-time knobs: ``nprobe`` (IVF cells
visited per query) and ``ef_search`` (HNSW candidate list length); both trade speed for recall.

:func:`measure_recall` reports recall@k against exact search on a sample of probe vectors (by default document
vectors themselves, each of which finds itself: a probe's own document is one of its k exact neighbours).

Example:
    >>> rng = np.random.default_rng(0)
    >>> vectors = rng.standard_normal((2000, 16)).astype(np.float32)
    >>> index = build_index(vectors, "IVF16,Flat", nprobe=16)  # every cell visited: exact
    >>> measure_recall(index, vectors, k=10, probes=50)["recall"]
    1.0
"""
from __future__ import annotations

import numpy as np

from reasonir.optional import require
from reasonir.retrieve.exact import exact_search

RECALL_K = 100  # the depth a reranker usually reads; recall@1000 would be dominated by the tail
RECALL_PROBES = 200  # probe queries: enough for a recall estimate within about +-0.01 at recall 0.95


def _faiss():
    return require("faiss", "models", purpose="approximate dense indexes")


def set_search_params(index, *, nprobe: int | None = None, ef_search: int | None = None) -> dict[str, int]:
    """Apply the search-time knobs that were given; returns them as FAISS names them (for the manifest)."""
    faiss = _faiss()
    params = {name: value for name, value in (("nprobe", nprobe), ("efSearch", ef_search)) if value is not None}
    space = faiss.ParameterSpace()
    for name, value in params.items():
        try:
            space.set_index_parameter(index, name, int(value))
        except RuntimeError as exc:  # e.g. nprobe on an HNSW index
            raise ValueError(f"this index has no {name} parameter ({exc})") from None
    return params


def build_index(vectors: np.ndarray, factory: str, *, nprobe: int | None = None, ef_search: int | None = None):
    """Train (on ``vectors`` themselves) and fill a FAISS index described by ``factory``, inner-product metric."""
    faiss = _faiss()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    try:
        index = faiss.index_factory(vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise ValueError(f"FAISS cannot build index factory string {factory!r}: {exc}") from None
    if not index.is_trained:
        try:
            index.train(vectors)  # FAISS subsamples large corpora itself (256 points per IVF cell)
        except RuntimeError as exc:  # e.g. fewer vectors than IVF cells
            raise ValueError(f"cannot train {factory!r} on {len(vectors)} vectors: {exc}") from None
    index.add(vectors)
    set_search_params(index, nprobe=nprobe, ef_search=ef_search)
    return index


def measure_recall(index, vectors: np.ndarray, *, queries: np.ndarray | None = None, k: int = RECALL_K,
                   probes: int = RECALL_PROBES, seed: int = 0) -> dict:
    """Recall@k of ``index`` against exact search over ``vectors`` (the same documents, in index order).

    ``queries`` are the probes when given; otherwise ``probes`` document vectors sampled with ``seed``.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if queries is None:
        rows = np.random.default_rng(seed).choice(len(vectors), size=min(probes, len(vectors)), replace=False)
        queries, source = vectors[np.sort(rows)], "documents"
    else:
        source = "queries"
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    depth = min(k, len(vectors))
    _, exact_ids = exact_search(vectors, queries, depth)
    _, approx_ids = index.search(queries, depth)
    hits = [len(np.intersect1d(a[a >= 0], e)) for a, e in zip(approx_ids, exact_ids)]
    recall = float(np.mean(hits) / depth) if depth and len(queries) else 1.0
    return {"k": depth, "probes": len(queries), "probe_source": source, "recall": round(recall, 4)}
