from __future__ import annotations

import asyncio

from reasonir.testing import ScriptedLLM
from reasonir.synth import load_prompts
from reasonir.synth.seeds import SeedStats, prepare, select_seeds


def select(corpus, llm, config, **kwargs):
    return asyncio.run(select_seeds(corpus, llm, config, load_prompts(), **kwargs))


def test_prepare_drops_empty_short_and_duplicate_documents(corpus, config):
    stats = SeedStats()
    seeds = prepare(corpus, config, stats)
    assert (stats.empty, stats.short, stats.duplicate) == (1, 1, 1)
    ids = {s.id for s in seeds}
    assert {"html", "inject", "german"} <= ids and "copy" not in ids
    html = next(s for s in seeds if s.id == "html")
    assert "<p>" not in html.prompt_text and "x()" not in html.prompt_text


def test_huge_documents_are_truncated_and_counted(corpus, config):
    config.seeds.max_document_words = 30
    stats = SeedStats()
    seeds = prepare(corpus, config, stats)
    assert all(len(s.prompt_text.split()) <= 31 for s in seeds)
    assert sum(s.truncated for s in seeds) == len(seeds)


def test_llm_judge_keeps_the_top_n_by_score(corpus, config):
    score = {f"d{i}": i % 6 for i in range(8)}

    # each document's title is in its prompt; map titles back to ids for the scripted judge
    titles = {d.title: d.id for d in corpus if d.title}
    llm = ScriptedLLM(lambda r: {"score": next((score.get(i, 0) for t, i in titles.items()
                                                 if t in r.messages[-1]["content"]), 0)})
    config.seeds.n, config.seeds.candidates_per_seed = 3, 100.0
    seeds, stats = select(corpus, llm, config)
    assert [s.score for s in seeds] == [5.0, 4.0, 3.0]
    assert stats.selected == 3 and stats.judged == stats.candidates


def test_judge_failures_and_threshold_are_counted(corpus, config):
    llm = ScriptedLLM(lambda r: "not json" if "Glacier" in r.messages[-1]["content"] else {"score": 2})
    config.seeds.min_score = 3
    seeds, stats = select(corpus, llm, config)
    assert seeds == [] and stats.judge_failed == 1 and stats.below_threshold == stats.candidates - 1


def test_candidate_pool_limits_judge_calls(corpus, config, llm):
    config.seeds.n, config.seeds.candidates_per_seed = 2, 2.0
    seeds, stats = select(corpus, llm, config)
    assert len(llm.calls) == 4 and stats.candidates == 4 and len(seeds) == 2


def test_a_classifier_replaces_the_judge(corpus, config, llm):
    seeds, _ = select(corpus, llm, config, classifier=lambda texts: [len(t) for t in texts])
    assert llm.calls == [] and seeds[0].score == max(s.score for s in seeds)


def test_known_scores_are_not_judged_again(corpus, config, llm):
    saved = {}
    select(corpus, llm, config, on_scored=saved.__setitem__)
    again = ScriptedLLM(lambda r: {"score": 0})
    seeds, _ = select(corpus, again, config, known_scores=saved)
    assert again.calls == [] and len(seeds) == len(saved)
