"""What every in-process engine (ct2, openvino) owes a job, on the real packaged SmolLM2: load_llm starts it, the
response cache answers a rerun without a model call, and it refuses to be started as a server. Each engine is
skipped where its package is not installed."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from reasonir.llm import ChatRequest, LLMConfig, Sampling, load_llm
from reasonir.llm.cache import ResponseCache
from reasonir.llm.embedded import DEFAULT_ALIAS, EmbeddedServer
from reasonir.llm.engines import engine_present

ENGINES = [pytest.param(engine, marks=[pytest.mark.skipif(importlib.util.find_spec(package) is None,
                                                          reason=f"{package} is not installed"),
                                       pytest.mark.engine(engine)])
           for engine, package in (("ct2", "ctranslate2"), ("openvino", "openvino_genai"))]


def candidates(prompt: str, k: int) -> list[ChatRequest]:
    return [ChatRequest.user(prompt, sampling=Sampling(temperature=0.8, top_p=0.95, max_tokens=4, seed=i),
                             tag="hq.query") for i in range(k)]


@pytest.mark.parametrize("engine", ENGINES)
def test_load_llm_starts_it_and_the_response_cache_answers_a_rerun(engine: str, tmp_path: Path) -> None:
    from reasonir.llm.inprocess import InProcessLLM

    assert engine_present(engine)  # type: ignore[arg-type]
    config = LLMConfig(embedded_engine=engine, cache_path=str(tmp_path / "cache.sqlite"), embedded_n_ctx=512)
    requests = candidates("Write one question about rivers.", 3)
    with load_llm(config) as llm:
        assert isinstance(llm, InProcessLLM) and llm.engine == engine and llm.model == DEFAULT_ALIAS
        first = dict(llm.chat_many(requests))
    with load_llm(config) as llm:
        again = dict(llm.chat_many(requests))
        assert llm.calls == 0 and all(r.cached for r in again.values())
        assert llm.usage().total().cache_hits == 3
    assert {i: r.text for i, r in first.items()} == {i: r.text for i, r in again.items()}
    assert len(ResponseCache(tmp_path / "cache.sqlite")) == 3


@pytest.mark.parametrize("engine", ["ct2", "openvino"])
def test_it_is_no_server(engine: str) -> None:
    with pytest.raises(ValueError, match="in this process"):
        EmbeddedServer(engine=engine)  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ENGINES)
def test_an_answer_that_would_overrun_the_window_stops_at_its_end(engine: str, tmp_path: Path) -> None:
    config = LLMConfig(embedded_engine=engine, cache_path=None, embedded_n_ctx=512)
    with load_llm(config) as llm:
        prompt = "Summarize: " + "the tide rises and falls " * 60
        used = len(llm.prompt(ChatRequest.user(prompt)))
        room = 512 - used
        assert 64 <= room < 200  # the prompt fits, its answer of 200 tokens would not
        result = llm.chat(ChatRequest.user(prompt, sampling=Sampling(temperature=0.0, max_tokens=200)))
        assert 0 < result.completion_tokens <= room
