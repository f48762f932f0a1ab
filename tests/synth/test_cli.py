"""The CLI against a scripted OpenAI-compatible endpoint on loopback (a real HTTP server and client, scripted
answers): exit codes, refusal to overwrite, and kill -9 in the middle of a run.

The kill test uses the scripted endpoint rather than the embedded SmolLM2 because a run long enough to be killed
half-way takes minutes with the real model on 2 cores; the same test with the real model is in
test_real_llm.py (marked slow)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from conftest import SCIFACT, needs

from reasonir.data import read_training_rows
from endpoints import ScriptedEndpoint

from reasonir.cli import main


@pytest.fixture
def endpoint():
    with ScriptedEndpoint() as ep:
        yield ep


@pytest.fixture
def small_corpus(tmp_path):
    """The first 300 SciFact abstracts, so that mining has a real corpus."""
    path = tmp_path / "corpus.jsonl"
    with open(SCIFACT / "corpus.jsonl") as src, open(path, "w") as dst:
        for _, line in zip(range(300), src):
            dst.write(line)
    return path


def args(corpus, out, endpoint, *extra):
    return ["synthesize", str(corpus), "--out", str(out), "--llm-base-url", endpoint.base_url, "--llm-no-cache",
            "--quiet", "--vl-words", "40,80", "--miner", "bm25", "--roundtrip-k", "0", *extra]


@needs(SCIFACT)
def test_cli_writes_rows_and_a_json_report(small_corpus, endpoint, tmp_path, capsys):
    out = tmp_path / "rows.jsonl"
    assert main(args(small_corpus, out, endpoint, "--n", "4", "--judge-rows", "--output", "json", "--export-hf",
                     str(tmp_path / "hf"))) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kept"] == {"hq": 4, "vl": 4} and report["seeds"]["selected"] == 4
    rows = read_training_rows(out)
    assert sum(not r.is_dev for r in rows) == 8  # every clean candidate of a seed is also a judge row
    assert sum(r.is_dev for r in rows) == sum(report["judge_rows"].values()) and all(
        report["judge_rows"][kind] >= 4 for kind in ("hq", "vl"))
    import datasets

    ds = datasets.load_from_disk(str(tmp_path / "hf"))
    assert ds.column_names[:2] == ["anchor", "positive"] and "negative_1" in ds.column_names
    assert main(["difficulty", str(out), "--retrievers", "bm25", "--public", str(SCIFACT), "--public-n", "10",
                 "--output", "json"]) == 0
    difficulty = json.loads(capsys.readouterr().out)
    assert set(difficulty["by_kind"]) == {"hq", "vl"} and difficulty["public"]["public"]["n"] == 10
    assert 0.0 <= difficulty["by_kind"]["hq"]["bm25"] <= 1.0


@needs(SCIFACT)
def test_cli_refuses_other_settings_and_bad_input(small_corpus, endpoint, tmp_path, capsys):
    out = tmp_path / "rows.jsonl"
    assert main(args(small_corpus, out, endpoint, "--n", "2", "--kinds", "hq")) == 0
    assert main(args(small_corpus, out, endpoint, "--n", "3", "--kinds", "hq")) == 2
    assert "--overwrite" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"_id": "1", "text": "fine"}\n{"_id": "2", "text": \n')
    assert main(args(bad, tmp_path / "x.jsonl", endpoint)) == 2
    assert "bad.jsonl:2" in capsys.readouterr().err
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "hq_query.md").write_text("no slots")
    assert main(args(small_corpus, tmp_path / "y.jsonl", endpoint, "--prompts", str(tmp_path / "prompts"))) == 3


KILLED_RUN = ("--n", "12", "--max-chains", "2")


def command(corpus, out, endpoint):
    code = "import sys; from reasonir.cli import main; sys.exit(main(sys.argv[1:]))"
    return [sys.executable, "-c", code, *args(corpus, out, endpoint, *KILLED_RUN)]


@needs(SCIFACT)
def test_kill_9_then_the_same_command_finishes_with_no_duplicate_and_no_lost_row(small_corpus, tmp_path):
    with ScriptedEndpoint(latency_s=0.02) as endpoint:
        whole = tmp_path / "whole.jsonl"  # the uninterrupted run, in this process (a child's imports cost seconds)
        assert main(args(small_corpus, whole, endpoint, *KILLED_RUN)) == 0
        out = tmp_path / "killed.jsonl"
        proc = subprocess.Popen(command(small_corpus, out, endpoint), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline and (not out.exists() or sum(1 for _ in open(out)) < 6):
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        killed_at = sum(1 for _ in open(out))
        assert 6 <= killed_at < 24
        done = subprocess.run(command(small_corpus, out, endpoint), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in open(out)]
    want = [json.loads(line) for line in open(whole)]
    assert len(rows) == len(want) == 24
    seeds = Counter((r["seed_id"], r["kind"]) for r in rows)
    assert max(seeds.values()) == 1  # zero duplicate seeds
    assert sorted(r["query"] for r in rows) == sorted(r["query"] for r in want)
    assert "finished by an earlier run" in done.stdout
