"""Exact (brute-force) inner-product top-k search, by the backend measured fastest on this kind of machine.

FAISS ``IndexFlatIP`` is fastest for large batches of queries, but with up to a few hundred queries per call (an
interactive search, a BEIR test set) it was 3-4x slower than a matrix product followed by a partial selection
(:func:`choose_backend` has the numbers). The backends:

- ``torch``: ``torch.mm`` then ``torch.topk`` (which runs over rows in parallel);
- ``numpy``: ``@`` then ``np.argpartition`` (single-threaded selection: fine for few queries, slow for many);
- ``faiss``: ``faiss.knn`` (what ``IndexFlatIP.search`` runs).

Documents are scored in blocks of at most ``block_bytes`` of scores, so memory stays bounded for any corpus,
and each block's top ``k`` is merged into a running top ``k``. Results are FAISS's layout: ``(scores, ids)``,
each ``(queries, k)``, best first, rows padded with ``-1`` ids (and the lowest float32 score) when ``k`` exceeds
the corpus. Among equal scores the lower document id comes first (FAISS leaves that order unspecified).

Example:
    >>> docs = np.eye(3, dtype=np.float32)
    >>> scores, ids = exact_search(docs, np.array([[0.1, 0.9, 0.0]], dtype=np.float32), k=2, backend="numpy")
    >>> ids.tolist(), [round(s, 2) for s in scores[0].tolist()]
    ([[1, 0]], [0.9, 0.1])
"""
from __future__ import annotations

from typing import Literal

import numpy as np

from reasonir.optional import require

ExactBackend = Literal["auto", "faiss", "numpy", "torch"]
EXACT_BACKENDS: tuple[str, ...] = ("auto", "faiss", "numpy", "torch")
# 64 MiB of float32 scores per block: with 1000 queries that is 16,384 documents; numpy's selection adds an int64
# index array twice that size, so a search peaks ~200 MiB above its inputs (measured 190-270 MB at 100k x 1000
# queries). 16 MiB blocks measured 1.3-1.5x slower with torch at k=1000, 256 MiB no faster.
BLOCK_BYTES = 64 * 2**20
QUERY_CHUNK = 1024  # queries scored together; more only grows the score block
PAD_SCORE = float(np.finfo(np.float32).min)  # FAISS's filler score for inner product (-FLT_MAX)


def choose_backend(queries: int, k: int) -> str:
    """The backend ``"auto"`` means, from measurements on 2 shared CPU cores (benchmarks/bench_search.py, in
    benchmarks/results/search.json; 100k unit vectors, 384-d; median seconds).

    - 1 and 10 queries, k=100: numpy 0.010 / 0.040, torch 0.016 / 0.072, FAISS 0.033 / 0.070;
    - 100 queries, k=100 and k=1000: numpy 0.128 / 0.140, torch 0.124 / 0.166, FAISS 0.58 / 0.58;
    - 300 queries, k=1000: numpy 0.71, torch 0.45, FAISS 1.72;
    - 1000 queries, k=100 / k=1000: FAISS 0.62-0.65 / 0.65-0.77, blocked numpy 0.82-0.90 / 1.49-1.79, torch
      1.06-1.17 / 1.59-1.61; on 1M documents FAISS 5.3-5.4 s. FAISS also needs no score buffer.

    So: numpy below 128 queries a call, torch from 128 to 511, FAISS from 512 (numpy when the chosen library
    is not installed). ``k`` is not part of the rule: k=100 and k=1000 moved no crossover.

    Example:
        >>> choose_backend(1, 10)
        'numpy'
    """
    choice = "numpy" if queries < 128 else "torch" if queries < 512 else "faiss"
    if choice != "numpy":
        try:
            __import__(choice)
        except ImportError:
            return "numpy"
    return choice


def exact_search(documents: np.ndarray, queries: np.ndarray, k: int, *, backend: ExactBackend = "auto",
                 block_bytes: int = BLOCK_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` documents by inner product for each query: ``(scores, ids)``, shapes ``(len(queries), k)``.

    ``documents`` is ``(n, dim)`` float32 (unit rows give cosine similarity); ``k`` may exceed ``n`` (padded).
    """
    if backend not in EXACT_BACKENDS:
        raise ValueError(f"unknown exact search backend {backend!r}; expected one of {', '.join(EXACT_BACKENDS)}")
    documents = np.ascontiguousarray(documents, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if queries.ndim != 2 or documents.ndim != 2 or queries.shape[1] != documents.shape[1]:
        raise ValueError(f"queries {queries.shape} and documents {documents.shape} must be 2-d with equal widths")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    nq, n = len(queries), len(documents)
    scores = np.full((nq, k), PAD_SCORE, dtype=np.float32)
    ids = np.full((nq, k), -1, dtype=np.int64)
    depth = min(k, n)
    if depth == 0 or nq == 0:
        return scores, ids
    if backend == "auto":
        backend = choose_backend(nq, k)  # type: ignore[assignment]
    if backend == "faiss":
        faiss = require("faiss", "models", purpose="FAISS exact search")
        top_scores, top_ids = faiss.knn(queries, documents, depth, metric=faiss.METRIC_INNER_PRODUCT)
    else:
        search = _blocked_torch if backend == "torch" else _blocked_numpy
        parts = []
        for start in range(0, nq, QUERY_CHUNK):  # query chunks too, so a block's scores stay within block_bytes
            chunk = queries[start:start + QUERY_CHUNK]
            # documents per block: several times k, or each block's selection is mostly merging overhead
            rows = max(4 * depth, block_bytes // (4 * len(chunk)))
            parts.append(search(documents, chunk, depth, rows))
        top_scores = np.concatenate([p[0] for p in parts])
        top_ids = np.concatenate([p[1] for p in parts])
    top_scores, top_ids = _order(top_scores, top_ids.astype(np.int64, copy=False))
    scores[:, :depth], ids[:, :depth] = top_scores, top_ids
    return scores, ids


def _order(scores: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row by descending score, then ascending id (so ties come out the same on every backend)."""
    order = np.lexsort((ids, -scores), axis=-1)
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(ids, order, axis=1)


def _keep_best(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` largest scores (unordered), with their ids."""
    if scores.shape[1] <= k:
        return scores, ids
    # partition on the scores as they are (no negated copy): the k largest end up in the last k columns
    part = np.argpartition(scores, scores.shape[1] - k, axis=1)[:, -k:]
    return np.take_along_axis(scores, part, axis=1), np.take_along_axis(ids, part, axis=1)


def _blocked_numpy(documents: np.ndarray, queries: np.ndarray, k: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    best_scores = np.empty((len(queries), 0), dtype=np.float32)
    best_ids = np.empty((len(queries), 0), dtype=np.int64)
    buffer = np.empty((len(queries), min(rows, len(documents))), dtype=np.float32)  # reused: no fresh pages per block
    for start in range(0, len(documents), rows):
        part = documents[start:start + rows]
        block = buffer[:, :len(part)]
        np.matmul(queries, part.T, out=block)
        block_scores, block_ids = _keep_best(block, np.broadcast_to(np.arange(start, start + block.shape[1]),
                                                                    block.shape), k)
        best_scores, best_ids = _keep_best(np.concatenate([best_scores, block_scores], axis=1),
                                           np.concatenate([best_ids, block_ids], axis=1), k)
    return best_scores, best_ids


def _blocked_torch(documents: np.ndarray, queries: np.ndarray, k: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    torch = require("torch", "models", purpose="torch exact search")
    q = torch.from_numpy(queries)
    best_scores = torch.empty((len(queries), 0), dtype=torch.float32)
    best_ids = torch.empty((len(queries), 0), dtype=torch.int64)
    with torch.inference_mode():
        for start in range(0, len(documents), rows):
            block = q @ torch.from_numpy(documents[start:start + rows]).T
            block_scores, block_ids = torch.topk(block, min(k, block.shape[1]), dim=1, sorted=False)
            merged_scores = torch.cat([best_scores, block_scores], dim=1)
            merged_ids = torch.cat([best_ids, block_ids + start], dim=1)
            if merged_scores.shape[1] > k:
                merged_scores, pick = torch.topk(merged_scores, k, dim=1, sorted=False)
                merged_ids = torch.gather(merged_ids, 1, pick)
            best_scores, best_ids = merged_scores, merged_ids
    return best_scores.numpy(), best_ids.numpy()
