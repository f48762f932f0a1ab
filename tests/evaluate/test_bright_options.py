"""BRIGHT/BEIR evaluation choices: queries absent from a run, identical ids; each named in the output."""
from __future__ import annotations

import json

import pytest

from reasonir.cli import main
from reasonir.data import Dataset, Document, Query
from reasonir.evaluate import evaluate_retriever, evaluate_run, prepare_run
from reasonir.retrieve import BM25Retriever

DOCS = [Document("cat", "cats purr"), Document("bank", "banks lend money"), Document("q3", "a document named q3")]
QUERIES = [Query("q1", "cats"), Query("q2", "zebra stripes"), Query("q3", "document named")]
QRELS = {"q1": {"cat": 1}, "q2": {"bank": 1}, "q3": {"q3": 1}}


def test_missing_queries_zero_or_skip():
    run = {"q1": {"cat": 1.0}, "q2": {}}
    assert evaluate_run(QRELS, run, ["nDCG@10"])["ndcg@10"] == pytest.approx(1 / 3)  # q2, q3 count as 0
    assert evaluate_run(QRELS, run, ["nDCG@10"], missing="skip")["ndcg@10"] == 1.0  # averaged over q1 only
    with pytest.raises(ValueError):
        evaluate_run(QRELS, run, ["nDCG@10"], missing="drop")  # type: ignore[arg-type]


def test_ignore_identical_ids_drops_the_query_itself():
    run = {"q3": {"q3": 5.0, "cat": 1.0}}
    assert prepare_run(run) == run
    assert prepare_run(run, ignore_identical_ids=True) == {"q3": {"cat": 1.0}}
    ds = Dataset(DOCS, QUERIES, QRELS)
    kept = evaluate_retriever(BM25Retriever(), ds, measures=["nDCG@10"])
    dropped = evaluate_retriever(BM25Retriever(), ds, measures=["nDCG@10"], ignore_identical_ids=True)
    assert kept.per_query["q3"]["ndcg@10"] == 1.0 and dropped.per_query["q3"]["ndcg@10"] == 0.0
    assert kept.missing == ["q2"] and dropped.options["ignore_identical_ids"] is True


@pytest.fixture
def toy(tmp_path):
    folder = tmp_path / "toy"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps({"_id": d.id, "text": d.text}) + "\n" for d in DOCS))
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": q.id, "text": q.text}) + "\n" for q in QUERIES))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t1\n" for q, docs in QRELS.items() for d in docs))
    return folder


def test_cli_eval_names_the_missing_query_rule_and_reports_cost(toy, capsys):
    assert main(["eval", "--dataset", str(toy), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "queries with no retrieved document: 1 of 3, averaged as 0 (--missing-queries zero)" in text
    assert "cost/query   0 FLOPs" in text  # BM25 has no model: 0 FLOPs
    assert main(["eval", "--dataset", str(toy), "--no-progress", "--missing-queries", "skip",
                 "--bm25-flavour", "bright", "--keep-zero-scores", "--output", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["missing_queries"] == {"rule": "skip", "count": 0}  # zero-score filling leaves no query empty
    assert out["cost"]["flops_per_query"] == 0 and out["pipeline"] == "bm25"
