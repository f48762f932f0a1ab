"""The main job's control flow: synthesize -> train -> compare, on a slice of the bundled sample.

The LLM is scripted here (its answers depend on the prompt); ``make demo`` runs the same code with the embedded
SmolLM2, and tests/synth/test_real_llm.py covers synthesis with the real model.
"""
from __future__ import annotations

import json
import shutil

from reasonir.demo import DemoConfig, bundled_sample, run_demo
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


def test_demo_synthesizes_trains_and_compares_before_and_after(tmp_path):
    config = DemoConfig(dataset=small_sample(tmp_path), workdir=tmp_path / "work", hq_seeds=6, vl_seeds=2,
                        vl_words=(40, 60), batch_size=4, epochs=1, min_steps=0)
    result = run_demo(config, ScriptedLLM(scripted_answers), log=lambda _: None)

    assert result.synthesized["hq"] > 0
    rows = [json.loads(line) for line in (tmp_path / "work" / "rows.jsonl").read_text().splitlines()]
    sample_queries = (config.dataset / "queries.jsonl").read_text()
    assert all(row["query"] not in sample_queries for row in rows)  # evaluation queries never used for training
    assert (tmp_path / "work" / "model" / "modules.json").exists()
    labelled = [json.loads(line) for line in (tmp_path / "work" / "rows.labelled.jsonl").read_text().splitlines()]
    assert result.labelled["rows_in"] == len(rows) and result.labelled["rows_out"] == len(labelled) > 0
    # each labelled row carries the teacher's scores of its texts
    assert all(len(r["meta"]["neg_scores"]) == len(r["neg"]) == config.label_candidates - 1 for r in labelled)
    table = result.table.to_dict()["results"]
    assert set(table) == {"bm25", "minilm (base)", "minilm (fine-tuned)", "hybrid (bm25 + base)",
                          "hybrid (bm25 + fine-tuned)"}  # the base hybrid is the control for the fine-tuned one
    assert all(0.0 <= scores["ndcg@10"] <= 1.0 for scores in table.values())
    saved = json.loads((tmp_path / "work" / "results.json").read_text())
    assert saved["table"]["results"] == table

    # a rerun reuses rows and model: no new LLM call, no retraining
    again = ScriptedLLM(scripted_answers)
    run_demo(config, again, log=lambda _: None)
    assert again.calls == []
    shutil.rmtree(tmp_path / "work")
