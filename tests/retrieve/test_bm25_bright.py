"""BRIGHT's BM25 flavour (Lucene analyzer + gensim LuceneBM25Model semantics) and BRIGHT's zero-score filling."""
from __future__ import annotations

import math

import pytest
from conftest import SCIFACT, needs

from reasonir.data import Document, Query
from reasonir.retrieve import BM25Config, BM25Retriever
from reasonir.retrieve.lucene import LuceneBM25, analyze

DOCS = [Document("d1", "Cats purr; the cat's purring is soothing."), Document("d2", "Dogs bark at cats."),
        Document("d3", "Stock markets fell."), Document("d4", "Bread rises in the oven.")]


def test_analyzer_follows_lucenes_english_chain():
    # possessive 's removed, lower-cased, Lucene stopwords (the, is, and) dropped, Porter stems ("purring" -> "pur")
    assert analyze("The Cat's purring is running AND relational") == ["cat", "pur", "run", "relat"]
    # UAX #29 word segmentation keeps decimals, abbreviations, apostrophes inside words; hyphens split
    assert analyze("3.14 U.S.A. don't state-of-the-art") == ["3.14", "u.s.a", "don't", "state", "art"]
    assert analyze("generalization") == ["gener"]  # Porter's reference stemmer ("-alization" -> "-al" -> "")


def test_scores_match_a_hand_computation_with_the_query_bm25_weighted():
    corpus = [["cat", "purr", "cat"], ["dog", "bark", "cat"], ["stock"]]
    k1, b = 0.9, 0.4
    model = LuceneBM25(k1, b).fit(corpus)
    avgdl = 7 / 3

    def weight(tf: int, length: int, df: int) -> float:
        return (math.log(3 + 1) - math.log(df + 0.5)) * tf / (tf + k1 * (1 - b + b * length / avgdl))

    query = ["cat", "cat", "bark", "unknown"]  # the unknown term is dropped before the query length (3) is taken
    q_cat, q_bark = weight(2, 3, 2), weight(1, 3, 1)
    expected = [weight(2, 3, 2) * q_cat, weight(1, 3, 2) * q_cat + weight(1, 3, 1) * q_bark, 0.0]
    assert model.scores(query).tolist() == pytest.approx(expected)


@pytest.mark.parametrize("flavour", ["bm25s", "bright"])
def test_zero_score_documents_left_out_by_default_and_kept_in_corpus_order_on_request(flavour):
    plain = BM25Retriever(BM25Config(flavour=flavour)).index(DOCS)
    assert set(plain.search([Query("q", "cats")], k=4)["q"]) == {"d1", "d2"}
    filled = BM25Retriever(BM25Config(flavour=flavour, keep_zero_scores=True)).index(DOCS)
    row = filled.search([Query("q", "cats", ("d3",))], k=3)["q"]
    assert list(row)[2:] == ["d4"] and row["d4"] == 0.0  # d3 excluded; zero-score fill in corpus order


def test_bright_flavour_saves_and_loads(tmp_path):
    r = BM25Retriever(BM25Config(flavour="bright")).index(DOCS)
    r.save(tmp_path / "idx")
    again = BM25Retriever.load(tmp_path / "idx")
    q = [Query("q", "purring cats")]
    assert again.search(q, k=4)["q"] == pytest.approx(r.search(q, k=4)["q"])


@needs(SCIFACT)
def test_scifact_matches_brights_own_code():
    """BRIGHT's retrievers.py (Pyserini + gensim) gives nDCG@10 0.6707, R@100 0.9300 on SciFact test (issue #10)."""
    from reasonir.data import load_dataset
    from reasonir.evaluate import evaluate_retriever

    ds = load_dataset(str(SCIFACT), split="test")
    result = evaluate_retriever(BM25Retriever(BM25Config(flavour="bright", keep_zero_scores=True)), ds,
                                measures=["nDCG@10", "R@100"], missing="skip")
    assert result.scores["ndcg@10"] == pytest.approx(0.6707, abs=0.002)
    assert result.scores["recall@100"] == pytest.approx(0.9300, abs=0.002)
