from __future__ import annotations

import json

import pytest

from reasonir.cli import main
from reasonir.data import Dataset, Document, Query
from reasonir.evaluate import Comparison, compare_retrievers, evaluate_retriever
from reasonir.retrieve import BM25Retriever, DenseRetriever

DOCS = [
    Document("cat", "The feline curled up on the windowsill and purred in the sun."),
    Document("bank", "The central bank raised interest rates to slow rising consumer prices."),
    Document("rain", "Heavy downpours flooded the streets and the river burst its banks."),
    Document("bread", "Knead the dough, let it rise, then bake the loaf until golden."),
]
QUERIES = [Query("q1", "a kitty relaxing in the sunshine"), Query("q2", "interest rates"), Query("q3", "storm flooding the river")]
QRELS = {"q1": {"cat": 1}, "q2": {"bank": 1}, "q3": {"rain": 1}}


def test_comparison_table_text_and_json(tmp_path):
    ds = Dataset(DOCS, QUERIES, QRELS)
    table = compare_retrievers(
        ds, {"bm25": BM25Retriever(), "dense": DenseRetriever(cache_dir=tmp_path, show_progress=False)},
        name="toy", measures=["nDCG@10", "MRR"])
    assert table.measures == ["ndcg@10", "mrr"]
    assert table.rows["dense"]["ndcg@10"] == 1.0  # every paraphrase found first
    assert table.rows["bm25"]["ndcg@10"] < 1.0  # q1 shares no word with its document
    text = table.to_text().splitlines()
    assert text[0] == "dataset: toy" and text[1].split() == ["retriever", "ndcg@10", "mrr"]
    assert text[3].split()[:2] == ["dense", "*1.0000"]
    assert json.loads(json.dumps(table.to_dict()))["results"]["bm25"] == pytest.approx(table.rows["bm25"])
    assert set(table.seconds["dense"]) == {"index", "search"}


def test_evaluate_retriever_returns_run_and_per_query():
    result = evaluate_retriever(BM25Retriever(), Dataset(DOCS, QUERIES, QRELS), measures=["nDCG@10"])
    assert set(result.per_query) == {"q1", "q2", "q3"} and result.per_query["q1"]["ndcg@10"] == 0.0
    assert result.scores["ndcg@10"] == pytest.approx(sum(q["ndcg@10"] for q in result.per_query.values()) / 3)
    assert next(iter(result.run["q2"])) == "bank"


def test_single_row_has_no_best_marker():
    assert "*" not in Comparison("d", ["mrr"], {"only": {"mrr": 0.5}}).to_text()


def test_cli_compare_prints_one_row_per_retriever(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("REASONIR_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "toy"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps({"_id": d.id, "text": d.text}) + "\n" for d in DOCS))
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": q.id, "text": q.text}) + "\n" for q in QUERIES))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t1\n" for q, docs in QRELS.items() for d in docs))
    args = ["compare", "--dataset", str(folder), "--retrievers", "bm25,dense,hybrid", "--no-progress"]
    assert main(args + ["--output", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out["results"]) == ["bm25", "dense", "hybrid"] and out["measures"][0] == "ndcg@10"
    assert out["results"]["dense"]["ndcg@10"] == 1.0
    assert main(args + ["--measures", "nDCG@10"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[2:5]] == ["bm25", "dense", "hybrid"]  # then the notes
