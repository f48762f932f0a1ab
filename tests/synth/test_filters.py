from __future__ import annotations

from reasonir.synth.config import FilterConfig
from reasonir.synth.filters import Filters

POS = ("Thermal expansion makes long steel bridges grow in summer, so engineers leave expansion joints whose width "
       "follows the coefficient of expansion times length times the temperature swing.")


def test_each_filter_names_its_drop():
    f = Filters(FilterConfig(roundtrip_k=10))
    assert f.check("hq", "why", POS) == "length"
    copied = " ".join(POS.split()[:14])
    assert f.check("hq", f"Explain this: {copied}", POS) == "leakage"
    assert f.check("hq", "According to the passage, what do engineers leave on bridges?", POS) == "mentions_source"
    q = "A 300 m steel bridge sees a 40 degree swing; how wide should its joints be?"
    assert f.check("hq", q, POS, positive_rank=11) == "roundtrip"
    assert f.check("hq", q, POS, positive_rank=3) is None
    assert f.check("hq", q.upper(), POS, positive_rank=3) == "duplicate_query"


def test_unknown_rank_is_not_roundtrip_checked_and_vl_needs_its_length():
    f = Filters(FilterConfig(roundtrip_k=1, vl_min_length_ratio=0.5))
    q = "My bridge design review found joints that crack every winter, " * 3
    assert f.check("vl", q, POS, positive_rank=None, target_words=300) == "length"
    assert f.check("vl", q, POS, positive_rank=None, target_words=40) is None


def test_kept_queries_from_an_earlier_run_count_as_seen():
    q = "How wide should the joints of a 300 m steel bridge be?"
    assert Filters(FilterConfig(), kept_queries=[q]).check("hq", q, POS) == "duplicate_query"
