"""The ct2 engine on the real packaged SmolLM2 (converted once per ctranslate2 version; a few tokens per request):
a seed's candidates come from one generate_batch call, usage counts the shared prompt once (what every
in-process engine owes: tests/llm/test_inprocess.py). Skipped where ctranslate2 is not installed."""
from __future__ import annotations

import pytest

pytest.importorskip("ctranslate2")

from reasonir.llm import ChatRequest, Sampling  # noqa: E402
from reasonir.llm.ct2_engine import (  # noqa: E402
    DONE_MARK,
    CT2LLM,
    choose_compute_type,
    weight_type,
)
from reasonir.llm.embedded import DEFAULT_ALIAS, default_model_path  # noqa: E402
from reasonir.llm.errors import ContextWindowError  # noqa: E402


@pytest.fixture(scope="module")
def ct2() -> CT2LLM:
    llm = CT2LLM(default_model_path(), alias=DEFAULT_ALIAS, n_ctx=512)
    yield llm
    llm.close()


def candidates(prompt: str, k: int, max_tokens: int = 6) -> list[ChatRequest]:
    return [ChatRequest.user(prompt, sampling=Sampling(temperature=0.8, top_p=0.95, max_tokens=max_tokens, seed=i),
                             tag="hq.query") for i in range(k)]


def test_compute_type_follows_the_cpu_units() -> None:
    int8_only = {"int8", "int8_float32", "float32"}
    assert choose_compute_type(frozenset({"avx2"}), int8_only) == "float32"  # no int8 dot products: measured slower
    assert choose_compute_type(frozenset({"avx512_vnni"}), int8_only) == "int8_float32"
    assert choose_compute_type(frozenset({"avx512_bf16"}), int8_only | {"bfloat16"}) == "bfloat16"
    assert choose_compute_type(frozenset({"avx512_bf16", "avx512_vnni"}), int8_only) == "int8_float32"
    assert choose_compute_type(frozenset(), {"float32"}) == "float32"
    assert weight_type("int8_float32") == "int8" and weight_type("bfloat16") == "bfloat16"


@pytest.mark.engine("ct2")
def test_the_converted_model_is_cached_by_version(ct2: CT2LLM) -> None:
    folder = ct2.converted.folder
    assert (folder / DONE_MARK).is_file() and (folder / "model.bin").is_file()
    import ctranslate2

    assert ctranslate2.__version__ in (folder / DONE_MARK).read_text()
    again = CT2LLM(default_model_path(), alias=DEFAULT_ALIAS, n_ctx=512, compute_type=ct2.compute_type)
    try:
        assert again.converted.folder == folder and again.converted.seconds < 30  # found, not converted again
    finally:
        again.close()


@pytest.mark.engine("ct2")
def test_a_seeds_candidates_share_one_prompt_pass_and_usage_counts_it_once(ct2: CT2LLM) -> None:
    before_calls, before = ct2.calls, ct2.usage().snapshot()
    results = dict(ct2.chat_many(candidates("Write one question about the moon.", 4)
                                 + candidates("Write one question about vitamin D.", 4)))
    assert ct2.calls - before_calls == 2  # two prompts, four samples each: one generate_batch call per prompt
    assert all(r.ok and r.text is not None and 0 < r.completion_tokens <= 6 for r in results.values())
    usage = ct2.usage().since(before).total()
    assert usage.requests == 8
    assert usage.prompt_tokens == sum(r.prompt_tokens for r in results.values())
    assert sorted(r.prompt_tokens for r in results.values() if r.prompt_tokens) == sorted(
        len(ct2.prompt(results[i].request)) for i in (0, 4))  # once per prompt, not once per sample
    assert usage.completion_tokens == sum(r.completion_tokens for r in results.values())
    assert len({r.text for r in results.values()}) > 1  # sampled, not one answer copied


@pytest.mark.engine("ct2")
def test_greedy_answers_repeat_and_a_cut_answer_says_length(ct2: CT2LLM) -> None:
    request = ChatRequest.user("Name a planet.", sampling=Sampling(temperature=0.0, max_tokens=3))
    first, second = ct2.chat(request), ct2.chat(request)
    assert first.text == second.text and first.completion_tokens <= 3
    if first.completion_tokens == 3:
        assert first.meta["finish_reason"] == "length"


@pytest.mark.engine("ct2")
def test_a_prompt_longer_than_the_window_fails_fast(ct2: CT2LLM) -> None:
    with pytest.raises(ContextWindowError):
        ct2.chat(ChatRequest.user("word " * 600, sampling=Sampling(max_tokens=8)))
