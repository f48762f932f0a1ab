"""The openvino engine on the real packaged SmolLM2 (its F16 copy made once per cache; a few tokens per request):
a seed's candidates are one pipeline request, usage counts the shared prompt once, and a JSON schema is
enforced (what every in-process engine owes: tests/llm/test_inprocess.py). Skipped where openvino-genai is not installed."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("openvino_genai")

from reasonir.llm import ChatRequest, Sampling  # noqa: E402
from reasonir.llm.embedded import DEFAULT_ALIAS, default_model_path  # noqa: E402
from reasonir.llm.errors import ContextWindowError  # noqa: E402
from reasonir.llm.openvino_engine import (  # noqa: E402
    PRECISION_OF_DTYPE,
    SAMPLING_AS_LLAMA_SERVER,
    OpenVINOLLM,
    _Pending,
    choose_precision,
    f16_copy,
    truncation_after_temperature,
)


@pytest.fixture(scope="module")
def ov() -> OpenVINOLLM:
    llm = OpenVINOLLM(default_model_path(), alias=DEFAULT_ALIAS, n_ctx=512)
    yield llm
    llm.close()


def candidates(prompt: str, k: int, max_tokens: int = 6, seed: int = 0) -> list[ChatRequest]:
    return [ChatRequest.user(prompt, sampling=Sampling(temperature=0.8, top_p=0.95, max_tokens=max_tokens,
                                                       seed=seed + i), tag="hq.query") for i in range(k)]


def test_precision_follows_the_cpu_units() -> None:
    assert choose_precision(frozenset({"avx2", "avx512_vnni"})) == "f32"  # bf16 would be emulated
    assert choose_precision(frozenset({"avx512_bf16"})) == "bf16"
    assert choose_precision(frozenset({"amx_bf16", "amx_tile"})) == "bf16"


# the CPU's own precision (None), and the other one asked for by name (a pipeline build each: seconds)
@pytest.mark.parametrize("dtype, precision", [(None, choose_precision()), *[
    (dtype, precision) for dtype, precision in PRECISION_OF_DTYPE.items() if precision != choose_precision()]])
def test_the_configured_dtype_sets_the_precision_the_pipeline_runs_in(dtype: str | None, precision: str) -> None:
    from reasonir.llm import LLMConfig, load_llm

    with load_llm(LLMConfig(cache_path="", embedded_engine="openvino", embedded_dtype=dtype)) as llm:
        assert llm.precision == precision  # type: ignore[attr-defined]
        assert llm.pipeline is not None  # type: ignore[attr-defined]


def test_the_f16_copy_is_made_once_and_keeps_the_metadata(ov: OpenVINOLLM, tmp_path: Path) -> None:
    import gguf

    copy = ov.model_file
    assert copy.is_file() and copy.name == "SmolLM2-135M-Instruct.F16.gguf"
    assert f16_copy(default_model_path()) == copy and copy.stat().st_mtime_ns == f16_copy(
        default_model_path()).stat().st_mtime_ns  # found, not written again
    reader, source = gguf.GGUFReader(copy), gguf.GGUFReader(default_model_path())
    kinds = {t.tensor_type.name for t in reader.tensors}
    assert kinds <= {"F16", "F32"} and "F16" in kinds
    assert [t.name for t in reader.tensors] == [t.name for t in source.tensors]
    for key in ("tokenizer.chat_template", "llama.context_length", "tokenizer.ggml.eos_token_id"):
        assert reader.fields[key].contents() == source.fields[key].contents()
    assert not list(copy.parent.glob("*.partial"))


def test_greedy_decoding_gives_the_right_answer(ov: OpenVINOLLM) -> None:
    # the packaged Q4_1 file read directly by openvino-genai gave other text than transformers: this holds the F16
    # copy to an answer the model knows
    result = ov.chat(ChatRequest.user("What is the capital of France?", sampling=Sampling(max_tokens=12)))
    assert result.ok and "Paris" in result.text
    again = ov.chat(ChatRequest.user("What is the capital of France?", sampling=Sampling(max_tokens=12)))
    assert again.text == result.text


def test_min_p_after_the_temperature_keeps_the_tokens_llama_server_keeps_before_it() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    for temperature in (0.3, 0.8, 1.5):
        _, min_p = truncation_after_temperature(temperature, 0.95, 0.05)
        for _ in range(200):
            logits = rng.normal(0, 3, 40)
            raw = np.exp(logits - logits.max())  # ratios to the top token, before the temperature
            scaled = np.exp((logits - logits.max()) / temperature)  # after it
            assert np.array_equal(raw >= 0.05, scaled >= min_p)


def test_a_sampled_group_asks_the_pipeline_for_the_translated_truncation(ov: OpenVINOLLM) -> None:
    group = [_Pending(r, ov.prompt(r)) for r in candidates("Write one question about tides.", 3)]
    config = ov._config(group)
    top_p, min_p = truncation_after_temperature(0.8, 0.95, SAMPLING_AS_LLAMA_SERVER["min_p"])
    assert config.top_k == SAMPLING_AS_LLAMA_SERVER["top_k"] and config.num_return_sequences == 3
    assert config.min_p == pytest.approx(min_p) and config.top_p == pytest.approx(top_p)
    assert config.temperature == pytest.approx(0.8)


def test_a_seeds_candidates_are_one_request_and_usage_counts_the_prompt_once(ov: OpenVINOLLM) -> None:
    before_calls, before = ov.calls, ov.usage().snapshot()
    results = dict(ov.chat_many(candidates("Write one question about the moon.", 4)
                                + candidates("Write one question about vitamin D.", 4)))
    assert ov.calls - before_calls == 2  # two prompts, four sequences each: one pipeline request per prompt
    assert all(r.ok and r.text is not None and 0 < r.completion_tokens <= 6 for r in results.values())
    usage = ov.usage().since(before).total()
    assert usage.requests == 8
    assert sorted(r.prompt_tokens for r in results.values() if r.prompt_tokens) == sorted(
        len(ov.prompt(results[i].request)) for i in (0, 4))  # once per prompt, not once per sample
    assert usage.completion_tokens == sum(r.completion_tokens for r in results.values())
    assert len({r.text for r in results.values()}) > 1  # sampled, not one answer copied


def test_the_same_group_and_seed_sample_the_same_texts(ov: OpenVINOLLM) -> None:
    first = dict(ov.chat_many(candidates("Write one question about tides.", 3, max_tokens=8, seed=7)))
    again = dict(ov.chat_many(candidates("Write one question about tides.", 3, max_tokens=8, seed=7)))
    assert {i: r.text for i, r in first.items()} == {i: r.text for i, r in again.items()}


def test_a_json_schema_is_enforced_while_decoding(ov: OpenVINOLLM) -> None:
    schema = {"type": "object", "properties": {"planet": {"type": "string"}}, "required": ["planet"]}
    result = ov.chat(ChatRequest.user("Name a planet.", sampling=Sampling(max_tokens=40), json_schema=schema))
    assert result.ok and isinstance(result.parsed, dict) and isinstance(result.parsed["planet"], str)


def test_a_cut_answer_says_length(ov: OpenVINOLLM) -> None:
    result = ov.chat(ChatRequest.user("Tell me a long story about a dragon.", sampling=Sampling(max_tokens=3)))
    assert result.completion_tokens == 3 and result.meta["finish_reason"] == "length"


def test_a_prompt_longer_than_the_window_fails_fast(ov: OpenVINOLLM) -> None:
    with pytest.raises(ContextWindowError):
        ov.chat(ChatRequest.user("word " * 600, sampling=Sampling(max_tokens=8)))
