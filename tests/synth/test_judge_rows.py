"""Judge rows: each training seed's clean candidates, written beside its training rows, never trained on."""
from __future__ import annotations

from collections import Counter

from reasonir.data import Document, read_training_rows
from reasonir.synth import SynthConfig, synthesize
from reasonir.testing import ScriptedLLM, scripted_answers
from reasonir.train import TrainConfig
from reasonir.train.plan import held_out


def _corpus(n: int) -> list[Document]:
    topics = ["tides", "glaciers", "compilers", "bridges", "enzymes", "markets", "volcanoes", "comets"]
    return [Document(f"doc{i}", f"Note {i} on {topics[i % 8]}: the mechanism of {topics[i % 8]} explains how case {i} "
                                f"unfolds, step by step, with causes and effects that a careful reader can follow.")
            for i in range(n)]


def _config() -> SynthConfig:
    config = SynthConfig(kinds=("hq",), prompt_style="small", judge_rows=True)
    config.negatives.miner = "bm25"
    config.hq.candidates = 3
    return config


def test_every_clean_candidate_of_a_training_seed_is_a_judge_row(tmp_path) -> None:
    docs = _corpus(30)
    report = synthesize(docs, ScriptedLLM(scripted_answers), tmp_path / "rows.jsonl", _config())
    rows = read_training_rows(tmp_path / "rows.jsonl")
    judge = [r for r in rows if r.meta.get("split") == "judge"]
    trained = [r for r in rows if not r.is_dev]
    assert judge and all(r.is_dev for r in judge)  # never trained on
    per_seed = Counter(r.seed_id for r in judge)
    assert max(per_seed.values()) > 1  # not only one per seed
    assert len({r.meta["row_id"] for r in judge}) == len(judge)
    assert all(r.neg == [] for r in judge)
    assert {r.query for r in trained} <= {r.query for r in judge}  # a training row is one of its seed's candidates
    assert {r.seed_id for r in trained} <= {r.seed_id for r in judge}
    assert report.judge_rows == {"hq": len(judge)} and report.kept == {"hq": len(trained)}
    assert f"{len(judge)} judge rows" in report.format()
    training, held = held_out(rows, TrainConfig(data=["x"], output_dir=str(tmp_path / "m")))  # the trainer holds them out
    assert {r.meta["row_id"] for r in held} == {r.meta["row_id"] for r in judge} and training == trained


def test_a_resumed_job_writes_each_judge_row_once(tmp_path) -> None:
    docs, out = _corpus(30), tmp_path / "rows.jsonl"
    synthesize(docs, ScriptedLLM(scripted_answers), out, _config())
    first = sorted(r.meta["row_id"] for r in read_training_rows(out))
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[: len(lines) // 2]) + "\n")  # a crash halfway: half the rows, no more ledger
    (out.parent / "rows.jsonl.synth" / "ledger.jsonl").write_text("")
    synthesize(docs, ScriptedLLM(scripted_answers), out, _config())
    assert sorted(r.meta["row_id"] for r in read_training_rows(out)) == first


def test_judge_rows_off_writes_none(tmp_path) -> None:
    config = _config()
    config.judge_rows = False
    report = synthesize(_corpus(12), ScriptedLLM(scripted_answers), tmp_path / "rows.jsonl", config)
    assert not report.judge_rows and not any(r.is_dev for r in read_training_rows(tmp_path / "rows.jsonl"))
