"""Dense retrieval with the real all-MiniLM-L6-v2 on a toy corpus of a few dozen short documents."""
from __future__ import annotations

import numpy as np
import pytest

from reasonir.data import Document, Query
from reasonir.models import load_encoder
from reasonir.retrieve import BM25Retriever, DenseRetriever, is_index

TOPICS = {
    "cat": "The feline curled up on the windowsill and purred contentedly in the afternoon sun.",
    "volcano": "Molten rock erupted from the mountain, sending ash clouds over the nearby villages.",
    "bread": "Knead the dough, let it rise for an hour, then bake the loaf until the crust is golden.",
    "bank": "The central bank raised interest rates to slow down rising consumer prices.",
    "football": "The striker scored twice in the second half, securing the championship for his club.",
    "rain": "Heavy downpours flooded the streets and the river burst its banks overnight.",
    "piano": "She practised scales on the keyboard instrument every morning before school.",
    "vaccine": "The immunisation campaign reduced measles infections among children dramatically.",
    "rocket": "The launch vehicle carried a communications satellite into geostationary orbit.",
    "coffee": "Roasted beans are ground and brewed with hot water to make the morning espresso.",
    "python": "The interpreter raised an exception because the list index was out of range.",
    "forest": "Loggers cleared thousands of hectares of tropical woodland in the Amazon basin.",
}
# Padding documents make the corpus a few dozen long without touching the topics above.
FILLER = [f"Minutes of committee meeting number {i}: attendance was recorded and the agenda approved." for i in range(18)]
DOCS = [Document(key, text) for key, text in TOPICS.items()] + [Document(f"f{i}", t) for i, t in enumerate(FILLER)]
# Paraphrases that share (almost) no words with their document: meaning, not vocabulary.
QUERIES = [
    Query("q-cat", "happy kitty making a rumbling noise"),
    Query("q-bank", "monetary policy tightening to fight inflation"),
    Query("q-rocket", "spacecraft lift-off putting a satellite in space"),
    Query("q-vaccine", "shots that protect kids from disease outbreaks"),
]
GOLD = {"q-cat": "cat", "q-bank": "bank", "q-rocket": "rocket", "q-vaccine": "vaccine"}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("embeddings")


@pytest.fixture(scope="module")
def dense(cache_dir, tmp_path_factory):
    # module-scoped fixtures start before the function-scoped shared_encoder_cache (conftest.py): without its
    # encoder cache here, this one read the machine's backend verdict and a test's second retriever the session's
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("reasonir.models.backends.encoder_cache_dir",
                      lambda: tmp_path_factory.getbasetemp() / "encoders")
        return DenseRetriever(cache_dir=cache_dir, show_progress=False).index(DOCS)


def test_dense_finds_paraphrases_that_bm25_misses(dense):
    run = dense.search(QUERIES, k=3)
    assert {q: next(iter(run[q])) for q in GOLD} == GOLD
    lexical = BM25Retriever().index(DOCS).search(QUERIES, k=3)
    assert sum(next(iter(lexical[q]), None) == g for q, g in GOLD.items()) < len(GOLD)


def test_scores_are_cosines_in_descending_order(dense):
    scores = list(dense.search(QUERIES[:1], k=len(DOCS))["q-cat"].values())
    assert len(scores) == len(DOCS)
    assert scores == sorted(scores, reverse=True) and -1.0 <= min(scores) and max(scores) <= 1.0 + 1e-6


def test_excluded_ids_are_dropped_and_k_results_remain(dense):
    run = dense.search([Query("q", QUERIES[0].text, excluded_ids=("cat", "f1"))], k=5)["q"]
    assert "cat" not in run and "f1" not in run and len(run) == 5


def test_encoders_match_sentence_transformers_directly(dense):
    texts = ["a query about cats", "another about rockets"]
    direct = dense.model.encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(dense.encode_queries(texts), direct, atol=1e-5)
    assert dense.encode_documents(texts).shape == (2, 384)


def test_second_index_of_same_corpus_reads_the_cache_instead_of_encoding(cache_dir, dense):
    again = DenseRetriever(cache_dir=cache_dir, show_progress=False).index(DOCS)
    assert again.encode_calls == 0
    run_a, run_b = again.search(QUERIES, k=5), dense.search(QUERIES, k=5)
    assert list(run_a["q-cat"]) == list(run_b["q-cat"])
    again.index(DOCS)  # same corpus, same instance: nothing to do
    assert again.encode_calls == 1  # only the search above


def test_cache_key_changes_with_corpus_and_instruction(cache_dir, dense):
    changed = DOCS[:-1] + [Document(DOCS[-1].id, DOCS[-1].text + " Amended.")]
    assert DenseRetriever(cache_dir=cache_dir, show_progress=False).index(changed).encode_calls == 1
    prefixed = DenseRetriever(cache_dir=cache_dir, show_progress=False, document_instruction="passage: ")
    assert prefixed.index(DOCS).encode_calls == 1


def test_an_in_memory_model_is_not_cached(tmp_path):
    model = load_encoder()
    r = DenseRetriever(model, cache_dir=tmp_path, show_progress=False).index(DOCS[:5]).index(DOCS[:5])
    assert r.encode_calls == 2 and not any(tmp_path.iterdir())
    named = DenseRetriever(model, cache_dir=tmp_path, show_progress=False, model_identity="minilm-step-0")
    named.index(DOCS[:5])
    assert any(tmp_path.iterdir())


def test_saved_index_reloads_without_encoding_documents(tmp_path, dense):
    folder = dense.save(tmp_path / "index")
    assert is_index(folder)
    loaded = DenseRetriever.load(folder, show_progress=False)
    assert loaded.encode_calls == 0
    expected, got = dense.search(QUERIES, k=5), loaded.search(QUERIES, k=5)
    assert loaded.encode_calls == 1  # the queries only
    for qid in expected:
        assert list(got[qid]) == list(expected[qid])
        assert np.allclose(list(got[qid].values()), list(expected[qid].values()), atol=1e-5)


def test_save_refuses_foreign_folders_and_existing_indexes(tmp_path, dense):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a reasonir index"):
        dense.save(foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"
    dense.save(tmp_path / "ix")
    with pytest.raises(FileExistsError, match="overwrite"):
        dense.save(tmp_path / "ix")
    dense.save(tmp_path / "ix", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix", "mine"]  # no temporary folders left behind


def test_search_before_index_is_an_error():
    with pytest.raises(RuntimeError, match="index"):
        DenseRetriever(show_progress=False).search(QUERIES)
