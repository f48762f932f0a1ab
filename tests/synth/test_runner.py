from __future__ import annotations

import json
from collections import Counter

import pytest

from reasonir.data import read_training_rows
from reasonir.testing import ScriptedLLM, scripted_answers, tag_of
from reasonir.synth import state_dir, synthesize
from reasonir.synth.text import normalise


def rows_of(path):
    return [json.loads(line) for line in open(path)]


def test_end_to_end_writes_hq_and_vl_rows_with_both_kinds_of_negatives(corpus, llm, config, tmp_path):
    out = tmp_path / "rows.jsonl"
    report = synthesize(corpus, llm, out, config)
    rows = read_training_rows(out)
    seeds = report.seeds.selected
    assert seeds == 11 and report.kept == {"hq": seeds, "vl": seeds} and len(rows) == 2 * seeds
    k = config.hq.candidates
    assert k > 1 and report.candidates == {"hq": k * seeds, "vl": 2 * seeds}  # several sampled, the best one kept
    assert report.dropped == {"not_selected": (k - 1) * seeds + seeds}
    for row in rows:
        sources = row.meta["neg_source"]
        assert sources.count("written") == 1 and sources.count("mined") == 1 and len(row.neg) == 2
        assert row.pos[0] not in row.neg and row.instruction
    hq = [r for r in rows if r.kind == "hq"]
    by_id = {d.id: d for d in corpus}
    assert all(normalise(by_id[r.seed_id].text) in r.pos[0] for r in hq)  # the seed is the HQ positive
    assert "<script>" not in next(r for r in hq if r.seed_id == "html").pos[0]
    assert len({r.meta["row_id"] for r in rows}) == len(rows)
    assert report.negatives["written"] == 2 * seeds and report.negatives["mined"] == 2 * seeds
    assert report.negatives["written_unchecked"] == 2 * seeds  # BM25 cannot score a written text
    text = report.format()
    assert f"hq: 11 of {11 * k} candidates" in text and "not waiting for the LLM" in text
    assert report.rates()["seed_yield"] == {"hq": 1.0, "vl": 1.0}


def test_instructions_inside_a_document_stay_inside_its_frame(corpus, llm, config, tmp_path):
    synthesize(corpus, llm, tmp_path / "rows.jsonl", config)
    prompts = [m["content"] for r in llm.calls for m in r.messages if "PWNED" in m["content"]]
    assert prompts
    for p in prompts:
        before, inside = p.split("<<<DOCUMENT>>>", 1)
        assert "PWNED" not in before and "PWNED" in inside.split("<<<END DOCUMENT>>>")[0]


def test_invalid_answers_are_counted_not_fatal(corpus, config, tmp_path):
    def flaky(request):
        if tag_of(request) == "vl.example":
            return "Sorry, I cannot write that."
        return scripted_answers(request)

    report = synthesize(corpus, ScriptedLLM(flaky), tmp_path / "rows.jsonl", config)
    assert report.kept == {"hq": 11} and report.dropped["invalid_json"] == 22  # two VL candidates per seed
    assert any("invalid JSON" in e for e in report.errors)


def test_filters_are_counted_per_reason(corpus, config, tmp_path):
    def lazy(request):
        if tag_of(request) == "hq.query":
            return {"questions": ["What does the document say about this?"]}
        return scripted_answers(request)

    config.kinds = ("hq",)
    report = synthesize(corpus, ScriptedLLM(lazy), tmp_path / "rows.jsonl", config)
    assert report.rows == 0 and report.dropped == {"mentions_source": 11 * config.hq.candidates}
    assert report.rates()["seed_yield"] == {"hq": 0.0}


class Crash(RuntimeError):
    pass


def crashing_after(n_calls):
    calls = Counter()

    def respond(request):
        calls["n"] += 1
        if calls["n"] > n_calls:
            raise Crash("the process died here")
        return scripted_answers(request)

    return respond


def test_a_crashed_run_resumes_to_the_same_rows_without_duplicates(corpus, llm, config, tmp_path):
    config.max_chains = 3
    full = tmp_path / "full.jsonl"
    synthesize(corpus, llm, full, config)
    out = tmp_path / "crashed.jsonl"
    with pytest.raises(Crash):
        synthesize(corpus, ScriptedLLM(crashing_after(70)), out, config)
    partial = len(rows_of(out))
    assert 0 < partial < len(rows_of(full))
    again = ScriptedLLM(scripted_answers)
    report = synthesize(corpus, again, out, config)
    assert report.resumed_items >= partial
    judge_calls = [r for r in again.calls if r.tag == "seeds.judge"]
    assert judge_calls == []  # seed scores were kept from the first run
    got, want = rows_of(out), rows_of(full)
    assert len(got) == len(want) and len({r["meta"]["row_id"] for r in got}) == len(got)
    strip = lambda rows: sorted(json.dumps({k: v for k, v in r.items() if k != "meta"}, sort_keys=True) for r in rows)
    assert strip(got) == strip(want)
    assert report.kept == Counter({"hq": 11, "vl": 11})


def test_someone_elses_file_is_refused_and_overwrite_replaces_it(corpus, llm, config, tmp_path):
    out = tmp_path / "rows.jsonl"
    out.write_text('{"query": "mine", "pos": ["keep me"]}\n')
    with pytest.raises(FileExistsError, match="--overwrite"):
        synthesize(corpus, llm, out, config)
    assert out.read_text().startswith('{"query": "mine"')
    report = synthesize(corpus, llm, out, config, overwrite=True)
    assert report.rows == 22 and "keep me" not in out.read_text()


def test_other_settings_are_refused_unless_resume_is_forced(corpus, llm, config, tmp_path):
    out = tmp_path / "rows.jsonl"
    config.kinds = ("hq",)
    synthesize(corpus, llm, out, config)
    config.kinds = ("hq", "vl")
    with pytest.raises(FileExistsError, match="other settings"):
        synthesize(corpus, llm, out, config)
    report = synthesize(corpus, llm, out, config, resume=True)
    assert report.kept == {"hq": 11, "vl": 11} and report.resumed_items == 11
    assert (state_dir(out) / "manifest.json").is_file()


def test_rerunning_a_finished_job_costs_no_llm_call(corpus, llm, config, tmp_path):
    out = tmp_path / "rows.jsonl"
    synthesize(corpus, llm, out, config)
    again = ScriptedLLM(scripted_answers)
    report = synthesize(corpus, again, out, config)
    assert again.calls == [] and report.rows == 22 and report.resumed_items == 22


def test_roundtrip_filter_uses_the_miner_rank(corpus, config, tmp_path):
    def about_compilers(request):  # every question is about the compiler document, whatever the seed
        if tag_of(request) == "hq.query":
            topic = request.messages[1]["content"].split("<<<DOCUMENT>>>")[1].split()[0]
            return {"questions": [f"Seed {topic}, case {request.sampling.seed}: how does graph colouring register "
                                  "allocation decide what to spill?"]}
        return scripted_answers(request)

    config.filters.roundtrip_k = 1
    config.kinds = ("hq",)
    report = synthesize(corpus, ScriptedLLM(about_compilers), tmp_path / "rows.jsonl", config)
    k = config.hq.candidates  # per seed; 11 seeds, one of them the compiler document
    assert report.rows == 1 and report.dropped == {"roundtrip": 10 * k, "not_selected": k - 1}
    assert report.roundtrip == {"checked": 11 * k, "passed": k}
    assert rows_of(tmp_path / "rows.jsonl")[0]["seed_id"] == "d7"


def test_a_deleted_output_is_made_again_not_skipped(corpus, llm, config, tmp_path):
    out = tmp_path / "rows.jsonl"
    synthesize(corpus, llm, out, config)
    out.unlink()
    again = ScriptedLLM(scripted_answers)
    report = synthesize(corpus, again, out, config)
    assert report.rows == 22 and len(rows_of(out)) == 22
    assert not any(r.tag == "seeds.judge" for r in again.calls)  # seed scores were still valid
