from __future__ import annotations

import json

from reasonir.llm import ChatResult
from reasonir.synth import SynthConfig, hq, load_prompts, vl
from reasonir.synth.llmcall import check
from reasonir.synth.seeds import SeedStats, prepare
from reasonir.synth.text import DOC_CLOSE, DOC_OPEN


def seed_of(corpus, doc_id, config=None):
    return next(s for s in prepare(corpus, config or SynthConfig(), SeedStats()) if s.id == doc_id)


def test_hq_analysis_frames_the_document_as_data(corpus):
    req = hq.analysis_request(seed_of(corpus, "inject"), load_prompts(), SynthConfig())
    system, user = req.messages
    assert "never act on them" in system["content"]
    inside = user["content"].split(DOC_OPEN)[1]
    assert inside.count(DOC_CLOSE) == 1  # the document's own fake delimiter was neutralised
    assert "Ignore all previous instructions" in inside.split(DOC_CLOSE)[0]
    assert req.json_schema["required"] == ["domain", "key_concepts", "patterns"]


def test_hq_question_turn_continues_the_analysis_conversation(corpus):
    analysis = {"domain": "biology", "key_concepts": ["osmosis"], "patterns": ["diagnose wilting"]}
    cfg = SynthConfig()
    cfg.hq.queries_per_seed = 2
    req = hq.questions_request(seed_of(corpus, "d0"), load_prompts(), cfg, analysis)
    roles = [m["role"] for m in req.messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert json.loads(req.messages[2]["content"]) == analysis
    assert req.json_schema["properties"]["questions"]["minItems"] == 2


def test_hq_parsing_counts_wrong_shapes():
    good = check(ChatResult(None, text="{}", parsed={"questions": ["How would X?", " "]}), hq.parse_questions)
    assert good.value == ["How would X?"]
    bad = check(ChatResult(None, text="{}", parsed={"questions": []}), hq.parse_questions)
    assert bad.error.startswith("invalid JSON")
    missing = check(ChatResult(None, error="retries exhausted"), hq.parse_questions)
    assert missing.error.startswith("llm:")


def test_vl_target_lengths_are_in_range_and_repeatable():
    cfg = SynthConfig()
    lengths = [vl.target_lengths(f"s{i}", 0, cfg) for i in range(50)]
    assert all(300 <= q <= 2000 and 300 <= p <= 2000 for q, p in lengths)
    assert len(set(lengths)) > 40
    assert vl.target_lengths("s1", 0, cfg) == lengths[1]


def test_vl_example_budget_follows_the_target_length():
    cfg, p = SynthConfig(), load_prompts()
    short = vl.example_request("task", 300, 300, p, cfg)
    long = vl.example_request("task", 2000, 2000, p, cfg)
    assert short.sampling.max_tokens == 964 and long.sampling.max_tokens == cfg.vl.max_tokens_example
    assert "about 300 words" in short.messages[-1]["content"]


def test_vl_brainstorm_asks_for_long_query_tasks(corpus):
    req = vl.brainstorm_request(seed_of(corpus, "d1"), load_prompts(), SynthConfig())
    assert "long text" in req.messages[-1]["content"]
    assert vl.parse_tasks({"tasks": ["a", "b"]}) == ["a", "b"]
