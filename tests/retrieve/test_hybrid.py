from __future__ import annotations

import pytest

from reasonir.data import Document, Query
from reasonir.retrieve import (
    BM25Retriever, DenseRetriever, HybridRetriever, fuse_rrf, fuse_weighted, load_index, make_retriever,
)

DOCS = [
    Document("cat", "The feline curled up on the windowsill and purred in the sun."),
    Document("zeta", "Zeta-function regularisation assigns finite values to divergent series."),
    Document("bank", "The central bank raised interest rates to slow rising consumer prices."),
    Document("bread", "Knead the dough, let it rise, then bake the loaf until golden."),
    Document("rain", "Heavy downpours flooded the streets and the river burst its banks."),
]


def test_weighted_fusion_is_a_weighted_sum_of_min_max_scores():
    runs = [{"q": {"a": 10.0, "b": 6.0, "c": 2.0}}, {"q": {"c": 0.9, "a": 0.5}}]
    fused = fuse_weighted(runs, [0.25, 0.75])["q"]
    assert fused == pytest.approx({"a": 0.25 * 1.0 + 0.0, "b": 0.25 * 0.5, "c": 0.0 + 0.75 * 1.0})


def test_rrf_uses_ranks_with_k_60():
    runs = [{"q": {"a": 10.0, "b": 6.0}}, {"q": {"b": 0.9, "a": 0.5}}, {"q": {"b": 1.0}}]
    fused = fuse_rrf(runs, [1.0, 1.0, 1.0])["q"]
    assert fused == pytest.approx({"a": 1 / 61 + 1 / 62, "b": 1 / 62 + 1 / 61 + 1 / 61})


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    dense = DenseRetriever(cache_dir=tmp_path_factory.mktemp("emb"), show_progress=False)
    return BM25Retriever(), dense


@pytest.mark.parametrize("method", ["weighted", "rrf"])
def test_hybrid_gets_lexical_and_semantic_matches_and_honours_exclusions(parts, method):
    hybrid = HybridRetriever(parts, method=method).index(DOCS)
    run = hybrid.search([Query("sem", "kitty purring"), Query("lex", "zeta-function regularisation"),
                         Query("ex", "kitty purring", excluded_ids=("cat",))], k=3)
    assert next(iter(run["sem"])) == "cat" and next(iter(run["lex"])) == "zeta"
    assert "cat" not in run["ex"] and len(run["ex"]) == 3


def test_hybrid_index_round_trips(parts, tmp_path):
    hybrid = HybridRetriever(parts, weights=[0.3, 0.7], method="rrf").index(DOCS)
    hybrid.save(tmp_path / "hy")
    loaded = load_index(tmp_path / "hy", show_progress=False)
    assert isinstance(loaded, HybridRetriever) and loaded.weights == [0.3, 0.7] and loaded.method == "rrf"
    q = [Query("q", "flooded river after storms")]
    assert list(loaded.search(q, k=5)["q"]) == list(hybrid.search(q, k=5)["q"])


def test_bad_settings_are_rejected(parts):
    with pytest.raises(ValueError, match="weights"):
        HybridRetriever(parts, weights=[1.0])
    with pytest.raises(ValueError, match="fusion"):
        HybridRetriever(parts, method="max")  # type: ignore[arg-type]


def test_make_retriever_builds_each_kind():
    assert isinstance(make_retriever("bm25", k1=1.2), BM25Retriever)
    assert isinstance(make_retriever("dense", batch_size=8), DenseRetriever)
    hybrid = make_retriever("hybrid", method="rrf", show_progress=False)
    assert isinstance(hybrid, HybridRetriever) and hybrid.method == "rrf" and not hybrid.retrievers[1].show_progress
    with pytest.raises(ValueError, match="kind"):
        make_retriever("colbert")  # type: ignore[arg-type]
