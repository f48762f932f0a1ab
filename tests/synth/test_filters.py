from __future__ import annotations

import numpy as np

from reasonir.synth.config import FilterConfig
from reasonir.synth.filters import Filters, is_filler, select

POS = ("Thermal expansion makes long steel bridges grow in summer, so engineers leave expansion joints whose width "
       "follows the coefficient of expansion times length times the temperature swing.")


def test_each_lexical_filter_names_its_drop():
    f = Filters(FilterConfig())
    assert f.check("hq", "why", POS) == "length"
    copied = " ".join(POS.split()[:14])
    assert f.check("hq", f"Explain this: {copied}", POS) == "leakage"
    assert f.check("hq", "According to the passage, what do engineers leave on bridges?", POS) == "mentions_source"
    q = "A 300 m steel bridge sees a 40 degree swing; how wide should its joints be?"
    assert f.check("hq", q, POS) is None
    f.remember(q)
    assert f.check("hq", q.upper(), POS) == "duplicate_query"


def test_filler_and_refusals_seen_from_small_models_are_caught():
    for text in ("...I am ready to provide a question about it.", "The answer to this question is:",
                 "I am looking for a question that can help me solve this problem.",
                 "Based on the given information, what is the result?", "I'm sorry, I cannot help with that.",
                 "Here's an example of a passage that uses the words", "The answer is: A. A study found",
                 "The question you asked, which was about AML, is a classic", "Title: A Different Perspective",
                 "The answer to the question about the mechanism of PRC2 would be:"):
        assert is_filler(text), text
    for text in ("Why does a sealed bottle crack in the freezer?", "How should a bakery price bread below cost?",
                 "What is the answer to a rising title insurance premium?", "The answer is complex: why?"):
        assert not is_filler(text), text
    assert Filters(FilterConfig(min_query_words=2)).check(
        "hq", "I am ready to write the question now, here it comes", POS) == "filler"


def test_vl_needs_its_length():
    f = Filters(FilterConfig(vl_min_length_ratio=0.5))
    q = "My bridge design review found joints that crack every winter, " * 3
    assert f.check("vl", q, POS, target_words=300) == "length"
    assert f.check("vl", q, POS, target_words=40) is None


def test_a_long_vl_query_passes_whatever_its_target():
    f = Filters(FilterConfig(vl_min_length_ratio=0.3, vl_enough_words=200))
    assert f.check("vl", "word " * 210, POS, target_words=900) is None  # 210 < 0.3 x 900, but long enough
    assert f.check("vl", "word " * 190, POS, target_words=900) == "length"
    assert f.check("vl", "word " * 100, POS, target_words=300) is None  # the ratio alone still passes shorter ones


def test_kept_queries_from_an_earlier_run_count_as_seen():
    q = "How wide should the joints of a 300 m steel bridge be?"
    assert Filters(FilterConfig(), kept_queries=[q]).check("hq", q, POS) == "duplicate_query"


def test_selection_applies_roundtrip_keeps_the_best_ranked_and_drops_near_duplicates():
    cfg = FilterConfig(roundtrip_k=10, near_duplicate_query_cosine=0.9)
    emb = np.eye(4, dtype=np.float32)
    kept: list[np.ndarray] = []
    choices = select([5, 30, 2, None], [0.5, 0.2, 0.7, None], emb, kept, cfg, keep=1)
    assert [c.reason for c in choices] == ["not_selected", "roundtrip", None, "not_selected"]
    assert len(kept) == 1 and kept[0][2] == 1.0
    # a later candidate pointing the same way as a kept query is a near-duplicate even when it ranks first
    again = select([1], [0.9], emb[2:3], kept, cfg, keep=1)
    assert again[0].reason == "near_duplicate_query"
    # without round-trip (k None) every rank passes; an unknown rank is never a round-trip failure
    assert [c.reason for c in select([50, None], [0.1, None], None, [], FilterConfig(roundtrip_k=None), keep=2)] \
        == [None, None]
