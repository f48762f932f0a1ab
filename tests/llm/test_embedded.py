"""Against the real thing: the embedded server (llama.cpp's llama-server) with the packaged SmolLM2-135M on
loopback."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from conftest import needs_llama_server
from endpoints import embedded_server_fixture, llm_for

from reasonir.cli import main
from reasonir.llm import (ChatRequest, ContextWindowError, LLMConfig, Sampling, UnknownModelError, answer_to_jsonl,
                          cache_key, load_llm)
from reasonir.llm.embedded import EmbeddedServer
from reasonir.llm.engines import IN_PROCESS, resolve_engine

pytestmark = needs_llama_server
smollm2 = embedded_server_fixture(scope="module")
SHORT = Sampling(max_tokens=6)  # SmolLM2 makes ~90 tokens/s on 2 idle cores: keep answers short
TOPICS = ["water", "fire", "stars", "bread", "music", "rivers", "glass", "trees"]
# maxLength becomes part of the server's grammar, so the JSON closes well within max_tokens
QUERY_SCHEMA = {"type": "object", "properties": {"query": {"type": "string", "maxLength": 24}}, "required": ["query"]}
JSON_BUDGET = Sampling(max_tokens=32)


@pytest.mark.parametrize("engine", ["auto", "llama-server"])
def test_load_llm_default_is_the_embedded_smollm2_and_json_schema_yields_valid_json(tmp_path: Path,
                                                                                   engine: str) -> None:
    # auto: this machine's default (openvino in this process on a CPU with bf16 units, else llama-server)
    config = LLMConfig(cache_path=str(tmp_path / "c.sqlite"), embedded_engine=engine)  # type: ignore[arg-type]
    with load_llm(config) as llm:
        assert llm.model == "SmolLM2-135M-Instruct" and getattr(llm, "context_window") == 2048
        requests = [ChatRequest.user(f"Write a search query about {t} as JSON.", json_schema=QUERY_SCHEMA,
                                     sampling=JSON_BUDGET, tag="synth.query") for t in TOPICS[:2]]
        results = dict(llm.chat_many(requests))
        server_url = getattr(llm, "base_url", None)
    # the schema constrained decoding (a grammar on llama-server, structured output on openvino): the 135M model
    # emits schema-valid JSON every time
    assert all(r.ok and isinstance(r.parsed["query"], str) for r in results.values()), results
    assert llm.usage().as_dict()["by_tag"]["synth.query"]["completion_tokens"] > 0
    if server_url is None:  # an in-process engine: nothing to stop
        assert resolve_engine(config.embedded_engine) in IN_PROCESS
        return
    with pytest.raises(Exception):  # close() stopped the embedded server
        llm_for(server_url)


def test_server_killed_mid_job_then_restarted(smollm2, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "answers.jsonl"
    items = [(t, ChatRequest.user(f"One word about {t}.", sampling=SHORT)) for t in TOPICS]
    llm = llm_for(smollm2.base_url, cache_path=tmp_path / "c.sqlite", concurrency=4, max_retries=10,
                  backoff_base_s=0.1, backoff_max_s=1.0)
    job: dict = {}
    worker = threading.Thread(target=lambda: job.update(answer_to_jsonl(llm, items, out)))
    worker.start()
    deadline = time.monotonic() + 30
    while (not out.exists() or len(out.read_text().splitlines()) < 2) and time.monotonic() < deadline:
        time.sleep(0.02)
    smollm2.kill()  # SIGKILL in the middle of the job, requests in flight
    time.sleep(0.5)
    smollm2.start()  # same port
    worker.join(timeout=60)
    assert not worker.is_alive()
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["id"] for r in rows) == sorted(TOPICS)  # every answer exactly once
    assert all(r["error"] is None and r["text"] for r in rows)
    report = llm.usage().as_dict()
    assert report["retries_by_cause"].get("connection", 0) > 0 and report["failures"] == 0
    for topic, request in items:  # each written answer is the one the cache holds
        assert next(r for r in rows if r["id"] == topic)["text"] == llm.cache.get(cache_key(llm.model, request))["text"]
    # a rerun of the finished job sends nothing
    assert answer_to_jsonl(llm, items, out) == {"written": 0, "skipped": len(TOPICS), "failed": 0}
    llm.close()


def test_rerun_costs_nothing_and_answers_match(smollm2, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    requests = [ChatRequest.user(f"Name a colour of {t}.", sampling=SHORT) for t in TOPICS[:4]]
    with llm_for(smollm2.base_url, cache_path=tmp_path / "c.sqlite") as first:
        fresh = {i: r.text for i, r in first.chat_many(requests)}
    with llm_for(smollm2.base_url, cache_path=tmp_path / "c.sqlite") as second:
        again = dict(second.chat_many(requests))
        report = second.usage().as_dict()
    assert {i: r.text for i, r in again.items()} == fresh and all(r.cached for r in again.values())
    assert (report["cache_hits"], report["prompt_tokens"], report["completion_tokens"]) == (4, 0, 0)


def test_wrong_model_and_too_long_prompt_fail_fast(smollm2) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownModelError, match="SmolLM2-135M-Instruct"):
        llm_for(smollm2.base_url, model="llama-3-70b")
    with llm_for(smollm2.base_url) as llm:
        llm.context_window = 2048  # as load_llm sets it for the embedded server
        with pytest.raises(ContextWindowError, match="context window of 2048"):
            llm.chat(ChatRequest.user("word " * 12_000))
        llm.context_window = None  # past the estimate, the server's own refusal becomes the same clear error
        # llama-server: "the available context size (2048 tokens)"
        with pytest.raises(ContextWindowError, match=r"maximum context length is 2048|context size \(2048"):
            llm.chat(ChatRequest.user("word " * 3_000, sampling=SHORT))


def test_cli_check_and_chat(smollm2, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    flags = ["--llm-base-url", smollm2.base_url, "--llm-cache", str(tmp_path / "c.sqlite")]
    assert main(["llm", "check", *flags, "--output", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["model"] == "SmolLM2-135M-Instruct" and "api_key" not in info["config"]
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(QUERY_SCHEMA))
    assert main(["llm", "chat", "A search query about tides, as JSON.", "--json-schema", str(schema_file),
                 "--max-tokens", "32", "--llm-json-mode", "json_object_schema", *flags, "--output", "json"]) == 0
    captured = capsys.readouterr()
    answer = json.loads(captured.out)
    assert isinstance(answer["parsed"]["query"], str) and answer["usage"]["requests"] == 1
    assert captured.err.startswith("llm SmolLM2-135M-Instruct: 1 requests")
    assert main(["llm", "check", "--llm-base-url", smollm2.base_url, "--llm-model", "nope", "--llm-no-cache"]) == 3
    assert "does not serve model 'nope'" in capsys.readouterr().err


def test_default_engine_is_llama_server_and_takes_openai_json_schema(smollm2) -> None:  # type: ignore[no-untyped-def]
    assert smollm2.engine_used == "llama-server" and smollm2.slots == 8  # make install builds it
    with llm_for(smollm2.base_url, slots=smollm2.slots) as llm:
        result = llm.chat(ChatRequest.user("A query about tides, as JSON.", json_schema=QUERY_SCHEMA,
                                           sampling=JSON_BUDGET))
        assert llm.json_mode == "auto" and result.ok and isinstance(result.parsed["query"], str)


def _evaluated_prompt_tokens(server: EmbeddedServer) -> int:
    metrics = httpx.get(server.base_url.removesuffix("/v1") + "/metrics", timeout=10).text
    return int(float(next(line.split()[1] for line in metrics.splitlines()
                          if line.startswith("llamacpp:prompt_tokens_total"))))


def test_candidates_of_one_prompt_evaluate_it_once_and_seeds_reproduce(smollm2) -> None:  # type: ignore[no-untyped-def]
    passage = " ".join(f"Tides rise and fall twice a day as the moon pulls the sea ({i})." for i in range(12))
    candidates = [ChatRequest.user(f"Passage: {passage}\nWrite one question this passage answers.",
                                   sampling=Sampling(temperature=0.8, top_p=0.95, max_tokens=8, seed=seed))
                  for seed in (11, 12, 13, 14)]
    with llm_for(smollm2.base_url, slots=smollm2.slots) as llm:
        before = _evaluated_prompt_tokens(smollm2)
        first = dict(llm.chat_many(candidates))  # all four in flight at once
        evaluated = _evaluated_prompt_tokens(smollm2) - before
        again = [dict(llm.chat_many(candidates)) for _ in range(2)]
    prompt_tokens = first[0].prompt_tokens
    assert prompt_tokens > 150 and all(r.ok for r in first.values())
    # pinned to one slot: the prompt is evaluated once, the other three reuse it (a token or so each)
    assert evaluated < 1.5 * prompt_tokens, (evaluated, prompt_tokens)
    assert len({r.text for r in first.values()}) >= 2  # different seeds, different samples
    texts = [[run[i].text for i in range(4)] for run in (first, *again)]
    # on a warm slot each seed gives its text again; the one candidate that evaluated the whole prompt may differ
    # from its rerun (its last prompt token went through a batched matmul, the rerun's through a single one)
    assert texts[1] == texts[2]
    assert sum(a == b for a, b in zip(texts[0], texts[1])) >= 3
