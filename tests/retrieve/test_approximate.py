"""Approximate FAISS indexes on a DenseRetriever: built from a factory string, recall reported, saved, reloaded."""
from __future__ import annotations

import json

import numpy as np
import pytest

from reasonir.data import Query
from reasonir.retrieve import DenseRetriever, load_index
from reasonir.retrieve.approximate import build_index, measure_recall
from reasonir.retrieve.store import read_manifest

N, DIM = 2000, 32


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    v = np.random.default_rng(0).standard_normal((N, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


IDS = [f"d{i}" for i in range(N)]
QUERIES = [Query(f"q{i}", "") for i in range(5)]


def retriever(**options) -> DenseRetriever:
    return DenseRetriever(use_cache=False, show_progress=False, recall_k=10, recall_probes=50, **options)


@pytest.mark.parametrize("factory,params", [("HNSW16", {"ef_search": 64}), ("IVF16,Flat", {"nprobe": 4}),
                                            ("IVF16,PQ8x4", {"nprobe": 16})])
def test_save_load_round_trip_keeps_results_and_recall(tmp_path, vectors, factory, params):
    r = retriever(faiss_factory=factory, **params).index_vectors(vectors, IDS)
    assert r.approximate and r.recall["k"] == 10 and r.recall["probes"] == 50 and 0 < r.recall["recall"] <= 1
    before = r.search_vectors(QUERIES, vectors[:5], k=10)
    folder = r.save(tmp_path / "ix")
    manifest = read_manifest(folder)
    assert manifest["faiss_factory"] == factory and manifest["recall"] == r.recall
    loaded = load_index(folder, show_progress=False)
    assert loaded.faiss_factory == factory and loaded.recall == r.recall
    assert loaded.search_params == {"nprobe": None, "ef_search": None, **params}
    after = loaded.search_vectors(QUERIES, vectors[:5], k=10)
    assert {q: list(v) for q, v in after.items()} == {q: list(v) for q, v in before.items()}


def test_recall_reflects_the_search_parameters(vectors):
    wide = retriever(faiss_factory="IVF16,Flat", nprobe=16).index_vectors(vectors, IDS)
    narrow = retriever(faiss_factory="IVF16,Flat", nprobe=1).index_vectors(vectors, IDS)
    assert wide.recall["recall"] == 1.0  # every cell visited: exact
    assert narrow.recall["recall"] < 0.9
    exact = retriever().index_vectors(vectors, IDS).search_vectors(QUERIES, vectors[:5], k=10)
    assert wide.search_vectors(QUERIES, vectors[:5], k=10) .keys() == exact.keys()
    assert all(list(wide.search_vectors(QUERIES, vectors[:5], k=10)[q]) == list(exact[q]) for q in exact)


def test_search_parameters_given_at_load_win(tmp_path, vectors):
    folder = retriever(faiss_factory="IVF16,Flat", nprobe=1).index_vectors(vectors, IDS).save(tmp_path / "ix")
    loaded = DenseRetriever.load(folder, nprobe=16, use_cache=False)
    assert measure_recall(loaded._index, vectors, k=10, probes=50)["recall"] == 1.0


def test_given_probe_queries_and_bad_settings(vectors):
    index = build_index(vectors, "HNSW16", ef_search=128)
    report = measure_recall(index, vectors, queries=vectors[:20] * -1, k=10)
    assert report["probe_source"] == "queries" and report["probes"] == 20
    with pytest.raises(ValueError, match="nprobe"):
        build_index(vectors, "HNSW16", nprobe=4)
    with pytest.raises(ValueError, match="train"):
        build_index(vectors[:10], "IVF64,Flat")
    with pytest.raises(ValueError, match="factory"):
        build_index(vectors, "NotAnIndex")


def test_exact_index_manifest_has_no_approximate_fields(tmp_path, vectors):
    folder = retriever().index_vectors(vectors, IDS).save(tmp_path / "ix")
    manifest = json.loads((folder / "reasonir-index.json").read_text())
    assert manifest["faiss"] == "IndexFlatIP" and "faiss_factory" not in manifest and "recall" not in manifest
