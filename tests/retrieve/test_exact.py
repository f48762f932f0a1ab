"""Blocked exact search against FAISS IndexFlatIP on real vectors: same ids and scores on every backend."""
from __future__ import annotations

import faiss
import numpy as np
import pytest

from reasonir.retrieve.exact import PAD_SCORE, choose_backend, exact_search

BACKENDS = ["numpy", "torch", "faiss", "auto"]


def unit_vectors(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def flat_search(docs: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    index = faiss.IndexFlatIP(docs.shape[1])
    index.add(docs)
    return index.search(queries, k)


def assert_same_results(scores, ids, expected_scores, expected_ids, tie: float = 1e-6) -> None:
    """Equal scores (float tolerance) and equal ids, except where FAISS's own scores tie (then order is free)."""
    np.testing.assert_allclose(scores, expected_scores, atol=1e-5)
    for row, (got, want, want_scores) in enumerate(zip(ids, expected_ids, expected_scores)):
        for pos in np.flatnonzero(got != want):
            neighbours = want_scores[max(pos - 1, 0):pos + 2]
            assert np.sum(np.abs(neighbours - want_scores[pos]) <= tie) > 1, f"row {row}, rank {pos}: not a tie"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k,block_bytes", [(10, 1 << 20), (50, 4096), (700, 4096)])  # 4 KiB blocks: many blocks
def test_same_ids_and_scores_as_faiss_flat(backend, k, block_bytes):
    docs, queries = unit_vectors(3000), unit_vectors(40, seed=1)
    expected_scores, expected_ids = flat_search(docs, queries, k)
    scores, ids = exact_search(docs, queries, k, backend=backend, block_bytes=block_bytes)
    assert ids.shape == scores.shape == (40, k) and ids.dtype == np.int64
    assert_same_results(scores, ids, expected_scores, expected_ids)
    assert (ids == expected_ids).mean() > 0.99  # a float32 tie is rare


@pytest.mark.parametrize("backend", BACKENDS)
def test_k_larger_than_the_corpus_is_padded_like_faiss(backend):
    docs, queries = unit_vectors(7), unit_vectors(3, seed=1)
    expected_scores, expected_ids = flat_search(docs, queries, 10)
    scores, ids = exact_search(docs, queries, 10, backend=backend)
    assert_same_results(scores, ids, expected_scores, expected_ids)
    assert (ids[:, 7:] == -1).all() and (scores[:, 7:] == PAD_SCORE).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_ties_come_out_by_ascending_id_with_faiss_scores(backend):
    base = unit_vectors(5)
    docs = np.repeat(base, 4, axis=0)  # every vector four times: each score is a four-way tie
    queries = unit_vectors(6, seed=1)
    scores, ids = exact_search(docs, queries, 8, backend=backend, block_bytes=64)
    expected_scores, _ = flat_search(docs, queries, 8)
    np.testing.assert_allclose(scores, expected_scores, atol=1e-5)
    for row_scores, row_ids in zip(scores, ids):
        first, second = row_ids[:4], row_ids[4:]  # the two best base vectors, each tied four ways
        assert sorted(first) == list(first) and sorted(second) == list(second)
        assert len({i // 4 for i in first}) == 1 and len({i // 4 for i in second}) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_corpus_queries_or_k(backend):
    scores, ids = exact_search(np.empty((0, 8), np.float32), unit_vectors(2, 8), 3, backend=backend)
    assert ids.tolist() == [[-1, -1, -1]] * 2 and (scores == PAD_SCORE).all()
    assert exact_search(unit_vectors(4, 8), np.empty((0, 8), np.float32), 3, backend=backend)[1].shape == (0, 3)
    assert exact_search(unit_vectors(4, 8), unit_vectors(2, 8), 0, backend=backend)[1].shape == (2, 0)


def test_more_queries_than_one_chunk_and_bad_input():
    docs, queries = unit_vectors(500), unit_vectors(1500, seed=2)  # two query chunks of at most 1024
    expected_scores, expected_ids = flat_search(docs, queries, 5)
    scores, ids = exact_search(docs, queries, 5, backend="numpy")
    assert_same_results(scores, ids, expected_scores, expected_ids)
    with pytest.raises(ValueError, match="backend"):
        exact_search(docs, queries, 5, backend="gpu")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="widths"):
        exact_search(docs, unit_vectors(2, 16), 5)


def test_auto_rule():
    assert choose_backend(1, 1000) == "numpy" and choose_backend(300, 1000) == "torch"
    assert choose_backend(1000, 100) == "faiss"
