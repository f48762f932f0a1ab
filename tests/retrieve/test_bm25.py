from __future__ import annotations

from pathlib import Path

import pytest

from reasonir.cli import main
from reasonir.data import Document, Query
from reasonir.retrieve import BM25Retriever

from conftest import SCIFACT


def test_bm25_ranks_matching_document_first_and_honours_excluded_ids():
    docs = [Document("d1", "photosynthesis converts light"), Document("d2", "volcanoes erupt lava")]
    r = BM25Retriever().index(docs)
    assert list(r.search([Query("q", "how does photosynthesis use light")])["q"])[0] == "d1"
    assert "d1" not in r.search([Query("q", "photosynthesis light", excluded_ids=("d1",))])["q"]


@pytest.mark.skipif(not SCIFACT.exists(), reason="needs ../shared/data/scifact")
def test_scifact_bm25_matches_published_pyserini_figure(capsys):
    # Pyserini flat BM25 on SciFact: nDCG@10 = 0.679 (BEIR multifield: 0.665).
    assert main(["eval", "--dataset", str(SCIFACT), "--output", "json"]) == 0
    import json

    ndcg = json.loads(capsys.readouterr().out)["ndcg@10"]
    assert abs(ndcg - 0.679) <= 0.01, ndcg


def test_cli_reports_data_error_with_exit_code_2(tmp_path, capsys):
    assert main(["eval", "--dataset", str(tmp_path)]) == 2
    assert "corpus.jsonl" in capsys.readouterr().err
