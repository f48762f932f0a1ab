"""eval / compare / search with rewriting and reranking from the command line, on the real embedded SmolLM2."""
from __future__ import annotations

import json

import pytest

from reasonir.cli import main

DOCS = {"cat": "Cats purr when they are content and relaxed.", "bank": "The central bank raised interest rates.",
        "rain": "Heavy rain flooded the river valley.", "bread": "Bake the bread until the crust is golden."}
QUERIES = {"q1": "why do cats purr", "q2": "interest rates and banks"}
QRELS = {"q1": "cat", "q2": "bank"}


@pytest.fixture
def toy(tmp_path, monkeypatch):
    monkeypatch.setenv("REASONIR_CACHE", str(tmp_path / "cache"))  # LLM answers and embeddings stay in the test
    folder = tmp_path / "toy"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps({"_id": k, "text": t}) + "\n" for k, t in DOCS.items()))
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": k, "text": t}) + "\n" for k, t in QUERIES.items()))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t1\n" for q, d in QRELS.items()))
    return folder


def test_compare_pipelines_reports_cost_and_draws_the_plot(toy, tmp_path, capsys):
    plot = tmp_path / "cost.png"
    args = ["compare", "--dataset", str(toy), "--retrievers", "bm25", "--pipelines", "plain,rerank", "--rerank-k", "2",
            "--measures", "nDCG@10", "--keep-zero-scores", "--no-progress", "--plot", str(plot), "--output", "json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out["results"]) == ["bm25", "bm25+rerank-llm"]
    assert out["cost"]["bm25"]["flops_per_query"] == 0
    rerank = out["cost"]["bm25+rerank-llm"]
    # each query matches one document; the zero-score fill gives the reranker its 2
    assert rerank["by_stage"]["rerank"]["requests"] == 2 and rerank["flops_per_query"] > 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(args) == 2  # the plot exists: refused without --overwrite
    capsys.readouterr()


def test_eval_rewrite_budgets_reports_ndcg_per_budget(toy, tmp_path, capsys):
    plot = tmp_path / "budgets.png"
    assert main(["eval", "--dataset", str(toy), "--rewrite-budgets", "64", "--rewrite-mode", "append",
                 "--no-progress", "--plot", str(plot), "--output", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["budgets"]) == {"none", "64"}
    assert 0 < out["budgets"]["64"]["completion_tokens"] <= 64 and out["budgets"]["64"]["flops_per_query"] > 0
    assert out["budgets"]["none"]["flops_per_query"] == 0 and plot.exists()


@pytest.mark.slow  # a minute on a loaded 2-core machine; the pipeline's control flow is tested fast in tests/retrieve
def test_search_with_rewrite_prints_the_rewrite_and_cost(toy, tmp_path, capsys):
    index = tmp_path / "idx"
    assert main(["index", str(toy / "corpus.jsonl"), "--retriever", "bm25", "--out", str(index), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["search", str(index), "why do cats purr", "-k", "2", "--rewrite", "--rewrite-budget", "64",
                 "--rewrite-mode", "append", "--rerank", "llm", "--rerank-k", "3", "--output", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rewrite"] and len(out["results"]) <= 2
    assert set(out["cost"]["by_stage"]) >= {"rewrite", "rerank", "encode_query"}
    assert 1 <= out["cost"]["by_stage"]["rerank"]["requests"] <= 3  # what BM25 matched, at most --rerank-k
