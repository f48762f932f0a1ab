"""Shards built separately and searched together give the single index's results."""
from __future__ import annotations

import numpy as np

from reasonir.data import Document, Query
from reasonir.retrieve import DenseRetriever, load_index, lookup_documents
from reasonir.retrieve.shards import ShardedDenseRetriever

N, DIM = 600, 16


def dense(vectors: np.ndarray, ids: list[str], **options) -> DenseRetriever:
    docs = [Document(i, f"text of {i}") for i in ids]
    return DenseRetriever(use_cache=False, show_progress=False, **options).index_vectors(vectors, ids, docs)


def test_exact_shards_equal_one_exact_index_and_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((N, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"d{i}" for i in range(N)]
    queries = [Query("q0", ""), Query("q1", "", excluded_ids=("d5", "d7")), Query("q2", "")]
    whole = dense(vectors, ids).search_vectors(queries, vectors[[3, 5, 9]], k=50)
    parts = [(0, 250), (250, 400), (400, N)]
    for i, (lo, hi) in enumerate(parts):  # built independently, saved separately
        dense(vectors[lo:hi], ids[lo:hi]).save(tmp_path / f"part{i}")
    sharded = ShardedDenseRetriever.from_folders([tmp_path / f"part{i}" for i in range(3)], use_cache=False)
    run = sharded.search_vectors(queries, vectors[[3, 5, 9]], k=50)
    assert {q: list(r) for q, r in run.items()} == {q: list(r) for q, r in whole.items()}
    assert "d5" not in run["q1"] and len(run["q1"]) == 50
    folder = sharded.save(tmp_path / "joined")
    again = load_index(folder, use_cache=False)
    assert isinstance(again, ShardedDenseRetriever) and len(again.shards) == 3
    assert again.search_vectors(queries, vectors[[3, 5, 9]], k=50) == run
    assert lookup_documents(folder, ["d599", "d0"])["d599"].text == "text of d599"


def test_approximate_shards_mix_with_exact_ones():
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((N, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"d{i}" for i in range(N)]
    sharded = ShardedDenseRetriever([dense(vectors[:300], ids[:300], faiss_factory="HNSW16", recall_k=10),
                                     dense(vectors[300:], ids[300:])])
    run = sharded.search_vectors([Query("q", "")], vectors[[310]], k=5)["q"]
    assert next(iter(run)) == "d310" and len(run) == 5


def test_link_folders_joins_saved_indexes_without_touching_them(tmp_path):
    rng = np.random.default_rng(2)
    vectors = rng.standard_normal((10, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"d{i}" for i in range(10)]
    sources = [dense(vectors[:6], ids[:6]).save(tmp_path / "a"), dense(vectors[6:], ids[6:]).save(tmp_path / "b")]
    folder = ShardedDenseRetriever.link_folders(tmp_path / "joined", sources)
    assert (folder / "shard-1" / "faiss.index").stat().st_ino == (tmp_path / "b" / "faiss.index").stat().st_ino
    assert (tmp_path / "a" / "faiss.index").exists()
    joined = load_index(folder, use_cache=False)
    queries = [Query("q", "")]
    expected = dense(vectors, ids).search_vectors(queries, vectors[[7]], k=10)["q"]
    found = joined.search_vectors(queries, vectors[[7]], k=10)["q"]
    assert list(found) == list(expected) and np.allclose(list(found.values()), list(expected.values()))
    assert list(lookup_documents(folder, ["d0", "d9"])) == ["d0", "d9"]
