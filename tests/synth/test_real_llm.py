"""``reasonir synthesize`` on SciFact with the embedded default LLM (SmolLM2-135M on the engine ``auto`` picks here:
OpenVINO GenAI on CPUs with bf16 units, llama.cpp's server elsewhere).

The fast test runs two seeds with small answers; the slow ones (--runslow) run a few dozen seeds, kill -9 a real
run half-way, and print the difficulty report of the generated rows. SmolLM2 writes poor data: these tests check
that every stage runs and that the counts add up, not the quality of the questions."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import SCIFACT, needs

from reasonir.cli import main
from reasonir.data import read_training_rows


def run_json(capsys, *argv) -> dict:
    assert main(["synthesize", str(SCIFACT), "--quiet", "--llm-no-cache", "--output", "json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


@needs(SCIFACT)
def test_embedded_llm_end_to_end_on_two_seeds_with_the_defaults(tmp_path, capsys):
    """The default path for the embedded model: small prompt style, sampled candidates, round-trip with the base
    encoder over a 150-abstract slice of SciFact (a small corpus keeps the encoding fast)."""
    corpus = tmp_path / "corpus.jsonl"
    with open(SCIFACT / "corpus.jsonl") as src, open(corpus, "w") as dst:
        for _, line in zip(range(150), src):
            dst.write(line)
    out = tmp_path / "rows.jsonl"
    assert main(["synthesize", str(corpus), "--quiet", "--llm-no-cache", "--output", "json", "--out", str(out),
                 "--n", "2", "--candidates", "2", "--vl-candidates", "1", "--max-tokens", "80",
                 "--max-document-words", "80", "--vl-words", "60,80"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["prompt_style"] == "small" and report["seeds"]["candidates"] == 2  # no judge for a small model
    usage = report["usage"]
    assert usage["completion_tokens"] > 0 and set(usage["by_tag"]) >= {"hq.query", "vl.query"}
    assert report["candidates"] == {"hq": 4, "vl": 2}
    # every candidate is kept or dropped for a named reason
    assert sum(report["kept"].values()) + sum(report["dropped"].values()) == 6
    rows = read_training_rows(out) if out.stat().st_size else []
    assert len(rows) == report["rows"]
    for row in rows:
        assert row.query.strip() and row.pos and row.meta["model"] == "SmolLM2-135M-Instruct"
        assert row.meta["positive_rank"] <= 10  # round-trip consistency under the base encoder


@pytest.mark.slow
@pytest.mark.timeout(3600)  # about 20 minutes on 2 shared cores
@needs(SCIFACT)
def test_a_few_dozen_scifact_seeds_give_hq_and_vl_rows_and_a_difficulty_report(tmp_path, capsys):
    out = Path(os.environ.get("REASONIR_SYNTH_EVIDENCE", tmp_path)) / "scifact_rows.jsonl"  # keep it to look at
    report = run_json(capsys, "--out", str(out), "--n", "24", "--vl-seeds", "8", "--vl-words", "300,600",
                      "--overwrite")
    print(json.dumps(report, indent=1))
    assert report["kept"].get("hq", 0) > 0 and report["kept"].get("vl", 0) > 0
    assert main(["difficulty", str(out), "--public-n", "100"]) == 0
    text = capsys.readouterr().out
    print(text)
    assert "hq" in text and "vl" in text and "public" in text


@pytest.mark.slow
@pytest.mark.timeout(3600)
@needs(SCIFACT)
def test_kill_9_with_the_embedded_llm(tmp_path):
    code = "import sys; from reasonir.cli import main; sys.exit(main(sys.argv[1:]))"

    def cmd(out):
        return [sys.executable, "-c", code, "synthesize", str(SCIFACT), "--out", str(out), "--n", "6", "--quiet",
                "--llm-no-cache", "--max-tokens", "96", "--vl-words", "30,60", "--max-chains", "2"]

    whole = tmp_path / "whole.jsonl"
    subprocess.run(cmd(whole), check=True, capture_output=True)
    out = tmp_path / "killed.jsonl"
    ledger = tmp_path / "killed.jsonl.synth" / "ledger.jsonl"
    proc = subprocess.Popen(cmd(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None and (not ledger.exists() or sum(1 for _ in open(ledger)) < 4):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    subprocess.run(cmd(out), check=True, capture_output=True)
    rows, want = [json.loads(x) for x in open(out)], [json.loads(x) for x in open(whole)]
    assert len(rows) == len(want)
    assert max(Counter((r["seed_id"], r["kind"]) for r in rows).values(), default=1) == 1
