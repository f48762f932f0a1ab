"""Index kinds are found through the registry; folders written in the old (pre-registry) format still load."""
from __future__ import annotations

import json

import faiss
import numpy as np
import pytest

from reasonir.data import Document, Query
from reasonir.data.errors import DataError
from reasonir.retrieve import BM25Retriever, DenseRetriever, HybridRetriever, load_index, registry
from reasonir.retrieve.store import MANIFEST

DOCS = [Document("cat", "cats purr on the windowsill"), Document("bank", "the bank raised interest rates")]


def test_store_does_not_import_the_retrievers():
    import reasonir.retrieve.store as store

    source = open(store.__file__, encoding="utf-8").read()
    assert "retrieve.bm25" not in source and "retrieve.dense" not in source and "retrieve.hybrid" not in source


def test_every_builtin_kind_resolves_to_its_class():
    assert registry.loader("bm25") is BM25Retriever
    assert registry.loader("dense") is DenseRetriever
    assert registry.loader("hybrid") is HybridRetriever
    from reasonir.retrieve.shards import ShardedDenseRetriever

    assert registry.loader("shards") is ShardedDenseRetriever


def test_each_kind_loads_through_load_index(tmp_path):
    vectors = np.eye(2, dtype=np.float32)
    dense = DenseRetriever(use_cache=False, show_progress=False).index_vectors(vectors, ["cat", "bank"], DOCS)
    bm25 = BM25Retriever().index(DOCS)
    saved = {"bm25": bm25.save(tmp_path / "bm25"), "dense": dense.save(tmp_path / "dense"),
             "hybrid": HybridRetriever([bm25, dense]).save(tmp_path / "hybrid")}
    for kind, folder in saved.items():
        loaded = load_index(folder, show_progress=False)  # options reach dense parts only
        assert type(loaded) is registry.loader(kind)
    assert list(load_index(saved["bm25"]).search([Query("q", "purr")], k=1)["q"]) == ["cat"]


def test_a_registered_kind_is_loaded_and_an_unknown_kind_is_named(tmp_path):
    folder = tmp_path / "custom"
    BM25Retriever().index(DOCS).save(folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps({**manifest, "kind": "my-bm25"}))
    with pytest.raises(DataError, match="my-bm25"):
        load_index(folder)
    registry.register("my-bm25", BM25Retriever, takes_options=False)
    try:
        assert isinstance(load_index(folder, model="ignored"), BM25Retriever)
    finally:
        registry._KINDS.pop("my-bm25")


def test_an_old_dense_manifest_still_loads_and_searches_exactly(tmp_path):
    """The folder layout and manifest fields a dense index had before approximate indexes existed."""
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((50, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    folder = tmp_path / "old"
    folder.mkdir()
    index = faiss.IndexFlatIP(8)
    index.add(vectors)
    faiss.write_index(index, str(folder / "faiss.index"))
    ids = [f"d{i}" for i in range(50)]
    (folder / "doc_ids.json").write_text(json.dumps(ids))
    (folder / MANIFEST).write_text(json.dumps({
        "format": "reasonir-index", "version": 1, "kind": "dense", "model": "sentence-transformers/all-MiniLM-L6-v2",
        "model_identity": None, "query_instruction": "", "document_instruction": "", "dim": 8, "normalized": True,
        "faiss": "IndexFlatIP", "count": 50}))
    loaded = load_index(folder, show_progress=False, use_cache=False)
    assert not loaded.approximate and loaded.recall is None
    scores, rows = index.search(vectors[:3], 5)
    run = loaded.search_vectors([Query(f"q{i}", "") for i in range(3)], vectors[:3], k=5)
    for i in range(3):
        assert list(run[f"q{i}"]) == [ids[j] for j in rows[i]]
        np.testing.assert_allclose(list(run[f"q{i}"].values()), scores[i], atol=1e-6)
    np.testing.assert_array_equal(loaded.document_embeddings(), vectors)
