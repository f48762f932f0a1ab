"""Pseudo-dev seeds: unselected dev rows beside the trained ones, counted apart, stable across a resume."""
from __future__ import annotations

from reasonir.data import Document, read_training_rows
from reasonir.testing import ScriptedLLM, scripted_answers
from reasonir.synth import SynthConfig, synthesize
from reasonir.synth.devset import is_dev_seed
from reasonir.synth.ranker import BM25Ranker


def _corpus(n: int) -> list[Document]:
    topics = ["tides", "glaciers", "compilers", "bridges", "enzymes", "markets", "volcanoes", "comets"]
    return [Document(f"doc{i}", f"Note {i} on {topics[i % 8]}: the mechanism of {topics[i % 8]} explains how case {i} "
                                f"unfolds, step by step, with causes and effects that a careful reader can follow.")
            for i in range(n)]


def _config(share: float = 0.15) -> SynthConfig:
    config = SynthConfig(kinds=("hq",), prompt_style="small", dev_share=share)
    config.negatives.miner = "bm25"
    config.hq.candidates = 3
    return config


def test_dev_seeds_get_their_first_candidate_that_bm25_places_with_no_negatives_and_are_counted_apart(tmp_path) -> None:
    docs, config = _corpus(100), _config()
    llm = ScriptedLLM(scripted_answers)
    report = synthesize(docs, llm, tmp_path / "rows.jsonl", config)
    rows = read_training_rows(tmp_path / "rows.jsonl")
    dev = [r for r in rows if r.is_dev]
    dev_seeds = {d.id for d in docs if is_dev_seed(d.id, 0.15, config.seed)}
    assert {r.seed_id for r in dev} == dev_seeds and 5 <= len(dev_seeds) <= 30
    assert all(r.neg == [] and "positive_rank" not in r.meta for r in dev)
    bm25 = BM25Ranker(docs)  # each dev row's seed is in BM25's top 10 for its query: the round trip of no judged model
    assert bm25.rank([r.query for r in dev], [r.pos[0] for r in dev], [r.seed_id for r in dev]).ranks == [1] * len(dev)
    assert not any(r.seed_id in dev_seeds for r in rows if not r.is_dev)
    assert report.dev_rows == {"hq": len(dev)} and report.kept == {"hq": len(rows) - len(dev)}
    assert report.seeds_tried["hq"] == 100 - len(dev_seeds)  # seed yield is about the training seeds
    # a dev seed costs dev_candidates questions and no negatives turn
    dev_texts = [d.text for d in docs if d.id in dev_seeds]
    dev_calls = [r for r in llm.calls if any(t in r.messages[-1]["content"] for t in dev_texts)]
    assert len(dev_calls) == config.dev_candidates * len(dev_seeds) and {r.tag for r in dev_calls} == {"hq.query"}
    assert "pseudo-dev rows" in report.format()


def test_a_resumed_job_keeps_the_same_dev_rows(tmp_path) -> None:
    docs, config = _corpus(100), _config()
    out = tmp_path / "rows.jsonl"
    synthesize(docs, ScriptedLLM(scripted_answers), out, config)
    first = [r.query for r in read_training_rows(out) if r.is_dev]
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[: len(lines) // 2]) + "\n")  # a crash halfway: half the rows, no more ledger
    (out.parent / "rows.jsonl.synth" / "ledger.jsonl").write_text("")
    report = synthesize(docs, ScriptedLLM(scripted_answers), out, config)
    again = [r.query for r in read_training_rows(out) if r.is_dev]
    assert sorted(again) == sorted(first) and report.dev_rows["hq"] == len(first)


def test_too_few_seeds_for_a_dev_set_train_on_every_seed(tmp_path) -> None:
    report = synthesize(_corpus(30), ScriptedLLM(scripted_answers), tmp_path / "rows.jsonl", _config())
    assert not report.dev_rows and report.kept["hq"] > 0  # 30 x 0.15 = 4.5 dev seeds, fewer than dev_min_seeds


def test_a_dev_seed_whose_candidates_bm25_cannot_place_gives_no_dev_row(tmp_path) -> None:
    def off_topic(request):  # every question about something no document mentions
        answer = scripted_answers(request)
        pasta = f"How long should pasta number {request.sampling.seed} rest before it is served?"  # distinct
        return pasta if request.tag == "hq.query" else answer

    report = synthesize(_corpus(100), ScriptedLLM(off_topic), tmp_path / "rows.jsonl", _config())
    assert not report.dev_rows.get("hq") and sum(report.dev_seeds.values()) > 5
