from __future__ import annotations

import pytest

from reasonir.data import Document, Query
from reasonir.retrieve import BM25Config, BM25Retriever, load_index

DOCS = [Document(f"d{i}", f"photosynthesis light leaf number {i}") for i in range(6)] + [Document("x", "volcano")]


def test_excluded_ids_do_not_shorten_the_result_list():
    run = BM25Retriever().index(DOCS).search([Query("q", "photosynthesis", excluded_ids=("d0", "d1"))], k=3)["q"]
    assert len(run) == 3 and not {"d0", "d1"} & set(run)


def test_bm25_index_round_trips_through_a_folder(tmp_path):
    r = BM25Retriever(BM25Config(k1=1.2, b=0.75)).index(DOCS)
    r.save(tmp_path / "bm25")
    loaded = load_index(tmp_path / "bm25")
    assert isinstance(loaded, BM25Retriever) and loaded.config.k1 == 1.2
    queries = [Query("q", "light leaf volcano")]
    assert loaded.search(queries, k=4) == r.search(queries, k=4)
    with pytest.raises(FileExistsError):
        loaded.save(tmp_path / "bm25")
    loaded.save(tmp_path / "bm25", overwrite=True)  # documents carried over from the loaded folder
    assert (tmp_path / "bm25" / "documents.jsonl").read_text().count("\n") == len(DOCS)


def test_a_folder_without_manifest_is_not_an_index(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a reasonir index"):
        load_index(tmp_path)
