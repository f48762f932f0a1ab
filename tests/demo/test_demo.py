"""The main job's wiring: ``reasonir demo`` is ``adapt`` on a slice of the bundled sample with its labelled queries.

The LLM is scripted here (its answers depend on the prompt); ``make demo`` runs the same code with the embedded
SmolLM2, and tests/adapt covers adapt's stages, resume and choice.
"""
from __future__ import annotations

import json

from reasonir.adapt import adapt
from reasonir.demo import DemoConfig, bundled_sample
from reasonir.testing import ScriptedLLM, scripted_answers


def small_sample(tmp_path, n_docs: int = 60, n_queries: int = 8):
    """The first queries of the bundled sample, their relevant documents and distractors, as a BEIR folder."""
    src, dst = bundled_sample(), tmp_path / "sample"
    (dst / "qrels").mkdir(parents=True)
    qrels = [line.split("\t") for line in (src / "qrels" / "test.tsv").read_text().splitlines()[1:]]
    qids = list(dict.fromkeys(q for q, _, _ in qrels))[:n_queries]
    relevant = {d for q, d, _ in qrels if q in qids}
    docs = [json.loads(line) for line in (src / "corpus.jsonl").read_text().splitlines()]
    keep = [d for d in docs if d["_id"] in relevant] + [d for d in docs if d["_id"] not in relevant]
    (dst / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in keep[:n_docs]))
    queries = [json.loads(line) for line in (src / "queries.jsonl").read_text().splitlines()]
    (dst / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries if q["_id"] in qids))
    (dst / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        "\t".join(row) + "\n" for row in qrels if row[0] in qids))
    return dst


def test_demo_adapts_the_sample_and_compares_before_and_after(tmp_path):
    config = DemoConfig(dataset=small_sample(tmp_path), workdir=tmp_path / "work", seeds=30, vl_seeds=2,
                        vl_words=(40, 60))
    config_for_adapt = config.adapt_config()
    assert config_for_adapt.eval == str(config.dataset) and config_for_adapt.synth.hq.candidates == 4
    assert config_for_adapt.synth.judge_rows and config_for_adapt.hybrid_weights  # the served retriever is chosen
    # the demo's own training takes minutes: one short recipe here (tests/adapt covers the choice itself)
    config_for_adapt.recipes, config_for_adapt.folds = ("contrastive",), 2
    config_for_adapt.merges, config_for_adapt.hybrid_weights = (0.0,), (0.5,)  # one copy per fold, one hybrid each
    config_for_adapt.train.update(max_steps=1, batch_size=8)
    llm = ScriptedLLM(scripted_answers)
    result = adapt(config_for_adapt, config.workdir, llm, progress=False, log=lambda _: None)

    rows = [json.loads(line) for line in (tmp_path / "work" / "rows.jsonl").read_text().splitlines()]
    sample_queries = (config.dataset / "queries.jsonl").read_text()
    assert rows and all(row["query"] not in sample_queries for row in rows)  # evaluation queries never trained on
    assert (tmp_path / "work" / "model" / "modules.json").exists() and (tmp_path / "work" / "index").is_dir()
    evaluation = result.report["stages"]["evaluate"]["summary"]
    table = evaluation["table"]["results"]
    # every retriever the judge scored is also scored on the labelled queries, beside the saved index
    judged = {c["name"] for c in result.report["stages"]["train"]["summary"]["candidates"]}
    assert {"bm25", "base", "base + bm25 (0.5)", "contrastive"} <= judged | {"bm25", "base"} <= set(table)
    assert f"served index ({result.chosen})" in table
    # the saved index that `serve` loads scores what the judge's pick scored, computed another way
    assert abs(table[f"served index ({result.chosen})"]["ndcg@10"] - table[result.chosen]["ndcg@10"]) < 1e-4
    assert {c["name"] for c in evaluation["judge_check"]["candidates"]} == judged | {"base"}
    assert all(0.0 <= scores["ndcg@10"] <= 1.0 for scores in table.values())
    assert json.loads((tmp_path / "work" / "report.json").read_text())["chosen"] == result.chosen

    again = ScriptedLLM(scripted_answers)  # a rerun resumes: no new LLM call, nothing retrained
    adapt(config_for_adapt, config.workdir, again, progress=False, log=lambda _: None)
    assert again.calls == []
