"""``reasonir eval`` with every retriever kind, run files and per-query output."""
from __future__ import annotations

import json

import pytest

from reasonir.cli import main
from reasonir.evaluate import BRIGHT_MEASURES, read_trec_run

from conftest import SCIFACT, needs

DOCS = {
    "cat": "The feline curled up on the windowsill and purred in the sun.",
    "bank": "The central bank raised interest rates to slow rising consumer prices.",
    "rain": "Heavy downpours flooded the streets and the river burst its banks.",
    "bread": "Knead the dough, let it rise, then bake the loaf until golden.",
    "rocket": "The launch vehicle carried a communications satellite into orbit.",
}
QUERIES = {"q1": ("a kitty relaxing in the sunshine", "cat"), "q2": ("spacecraft lift-off", "rocket"),
           "q3": ("interest rates and inflation", "bank")}


@pytest.fixture
def toy(tmp_path, monkeypatch):
    monkeypatch.setenv("REASONIR_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "toy"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps({"_id": k, "title": "", "text": t}) + "\n"
                                                 for k, t in DOCS.items()))
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": q, "text": t}) + "\n"
                                                  for q, (t, _) in QUERIES.items()))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t1\n" for q, (_, d) in QUERIES.items()))
    return folder


@pytest.mark.parametrize("kind", ["dense", "hybrid"])
def test_eval_prints_bright_metrics_as_one_json_object(toy, capsys, kind):
    assert main(["eval", "--dataset", str(toy), "--retriever", kind, "--no-progress", "--output", "json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert list(scores)[:len(BRIGHT_MEASURES)] == [m.key for m in BRIGHT_MEASURES]  # then pipeline, cost, choices
    assert scores["ndcg@10"] > 0.9 if kind == "dense" else scores["ndcg@10"] > 0.5
    assert scores["recall@5"] == 1.0  # five documents: everything relevant is in the top 5


def test_eval_writes_run_file_and_per_query_scores(toy, tmp_path, capsys):
    run_file, per_query = tmp_path / "out" / "dense.trec", tmp_path / "out" / "per_query.json"
    args = ["eval", "--dataset", str(toy), "--retriever", "dense", "--no-progress", "-k", "3",
            "--run-file", str(run_file), "--per-query", str(per_query), "--output", "json"]
    assert main(args) == 0
    mean = json.loads(capsys.readouterr().out)["ndcg@10"]
    run = read_trec_run(run_file)
    assert set(run) == set(QUERIES) and all(len(docs) == 3 for docs in run.values())
    assert run_file.read_text().split("\n", 1)[0].endswith("reasonir-dense")
    per = json.loads(per_query.read_text())
    assert set(per) == set(QUERIES) and sum(p["ndcg@10"] for p in per.values()) / 3 == pytest.approx(mean)
    assert main(args) == 2  # both files exist now: refused before any work
    assert "--overwrite" in capsys.readouterr().err
    assert main(args + ["--overwrite"]) == 0


@needs(SCIFACT)
@pytest.mark.slow
def test_scifact_minilm_matches_published_mteb_score(capsys, tmp_path, monkeypatch):
    # all-MiniLM-L6-v2 on MTEB SciFact: nDCG@10 = 0.645 (MTEB leaderboard). Minutes on 2 CPU cores: an empty
    # embedding cache makes it encode all 5,183 abstracts rather than reuse an earlier run's vectors.
    monkeypatch.setenv("REASONIR_CACHE", str(tmp_path))
    assert main(["eval", "--dataset", str(SCIFACT), "--retriever", "dense", "--no-progress", "--output", "json"]) == 0
    ndcg = json.loads(capsys.readouterr().out)["ndcg@10"]
    assert abs(ndcg - 0.645) <= 0.01, ndcg


@pytest.mark.parametrize("spec,task", [("bright:biology@/data/bright", "biology"), ("bright-long:pony", "pony"),
                                       ("../shared/data/scifact", "scifact")])
def test_the_task_for_instructions_comes_from_the_dataset_spec(spec, task):
    from reasonir.cli._retrieval import task_name

    assert task_name(spec) == task
