from __future__ import annotations

from reasonir.llm import ChatRequest, ChatResult, Sampling
from reasonir.synth.llmcall import check, close_truncated_json, document_word_budget, fit, lenient_json


def test_raw_newlines_inside_strings_are_accepted():
    assert lenient_json('{"a": "x\ny"}') == {"a": "x\ny"}
    assert lenient_json("no json") is None


def test_an_answer_cut_off_by_max_tokens_is_closed_and_marked():
    result = ChatResult(None, text='{"query": "a long query", "positive": "an unfinished doc',
                        error="invalid JSON", meta={"finish_reason": "length"})
    answer = check(result, lambda v: (v["query"], v["positive"]))
    assert answer.ok and answer.salvaged and answer.value == ("a long query", "an unfinished doc")
    stopped = ChatResult(None, text='{"query": "x', error="invalid JSON", meta={"finish_reason": "stop"})
    assert not check(stopped, lambda v: v).ok  # only a cut-off answer is repaired
    assert close_truncated_json('{"a": [1, 2') == {"a": [1, 2]}


def test_fit_lowers_max_tokens_to_the_window_or_gives_up():
    req = ChatRequest.user("x" * 3000, sampling=Sampling(max_tokens=1000))
    assert fit(req, None) is req
    fitted = fit(req, 1500)
    assert fitted is not None and fitted.sampling.max_tokens < 1000
    assert fitted.sampling.max_tokens + 3000 / 3 <= 1500
    assert fit(req, 1000) is None


def test_document_budget_shrinks_with_the_window():
    assert document_word_budget(1000, None) == 1000
    assert document_word_budget(1000, 2048) == 530
    assert document_word_budget(1000, 32768) == 1000
