from __future__ import annotations

import math

import pytest

from reasonir.evaluate import BRIGHT_MEASURES, Measure, evaluate_per_query, evaluate_run, parse_measure


@pytest.mark.parametrize("text,expected", [
    ("nDCG@10", Measure("ndcg", 10)), ("ndcg@ 5", Measure("ndcg", 5)), ("R@100", Measure("recall", 100)),
    ("Recall@25", Measure("recall", 25)), ("P@1", Measure("p", 1)), ("MAP@10", Measure("map", 10)),
    ("MRR", Measure("mrr")), ("RR", Measure("mrr")),
])
def test_parse_measure(text, expected):
    assert parse_measure(text) == expected


@pytest.mark.parametrize("bad", ["F1@10", "nDCG", "MRR@10", "ndcg@ten", ""])
def test_parse_measure_rejects_unknown_or_malformed(bad):
    with pytest.raises(ValueError):
        parse_measure(bad)


def test_bright_measure_set_keys():
    keys = [m.key for m in BRIGHT_MEASURES]
    assert keys[:3] == ["ndcg@1", "ndcg@5", "ndcg@10"] and "recall@100" in keys and "p@25" in keys and keys[-1] == "mrr"
    assert len(keys) == 4 * 6 + 1


def test_per_query_values_match_the_textbook_formulas():
    qrels = {"q1": {"a": 1}, "q2": {"b": 2, "c": 1}, "q3": {"z": 1}}
    run = {"q1": {"x": 3.0, "a": 2.0}, "q2": {"b": 5.0, "y": 4.0, "c": 3.0}}  # q3 retrieved nothing
    per = evaluate_per_query(qrels, run, ["nDCG@10", "R@1", "P@2", "MRR"])
    assert per["q1"]["ndcg@10"] == pytest.approx(1 / math.log2(3))  # one relevant document at rank 2
    ideal = 2 / math.log2(2) + 1 / math.log2(3)  # trec_eval's gain is the grade itself
    assert per["q2"]["ndcg@10"] == pytest.approx((2 / math.log2(2) + 1 / math.log2(4)) / ideal)
    assert per["q1"]["mrr"] == 0.5 and per["q2"]["recall@1"] == 0.5 and per["q2"]["p@2"] == 0.5
    assert per["q3"] == {"ndcg@10": 0.0, "recall@1": 0.0, "p@2": 0.0, "mrr": 0.0}


def test_mean_counts_unretrieved_queries_as_zero():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    assert evaluate_run(qrels, {"q1": {"a": 1.0}}, ["nDCG@10"]) == {"ndcg@10": 0.5}
    assert set(evaluate_run(qrels, {"q1": {"a": 1.0}})) == {m.key for m in BRIGHT_MEASURES}
