"""The embedded engines: the rule ``auto`` follows, the GGUF -> transformers conversion cache, and a real
``transformers serve`` (one per module: its first start converts the packaged GGUF, about 20 s on idle cores)."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reasonir.hardware import bf16_supported
from endpoints import llm_for
from reasonir.cli.llm_flags import add_llm_arguments, config_from_args
from reasonir.llm import ChatRequest, LLMConfig, Sampling, hf_convert, load_llm, loader
from reasonir.llm.embedded import (
    DEFAULT_ALIAS,
    TRANSFORMERS_SAMPLING,
    EmbeddedServer,
    default_model_path,
)
from reasonir.llm.engines import AUTO_BY_CPU, IN_PROCESS, SERVERS, auto_engine, resolve_engine, server_engine
from reasonir.llm.errors import EndpointUnreachableError, EngineCrashedError
from reasonir.llm.hf_convert import DONE_MARK, STORED_DTYPE, conversion_key, convert_gguf
from reasonir.synth import SynthConfig

AVX2_CPU = frozenset({"avx2", "fma", "f16c"})
BF16_CPU = frozenset({"avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16", "amx_int8"})
QUERY_SCHEMA = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}


# ---- the rule -------------------------------------------------------------------------------------------------------
def test_auto_is_the_measured_winner_of_each_cpu_kind() -> None:
    assert auto_engine(AVX2_CPU) == AUTO_BY_CPU["no-bf16"] != "transformers"  # never torch where bf16 is emulated
    assert auto_engine(BF16_CPU) == AUTO_BY_CPU["bf16"]
    assert resolve_engine("auto", AVX2_CPU, present=lambda engine: True) == "openvino"
    assert resolve_engine("transformers", AVX2_CPU) == "transformers"  # an explicit choice is kept anywhere
    # auto takes the other engine where the chosen one is not present here; an explicit choice is never swapped
    only_transformers = lambda engine: engine == "transformers"
    assert resolve_engine("auto", AVX2_CPU, present=only_transformers) == "transformers"
    assert resolve_engine("llama-server", AVX2_CPU, present=only_transformers) == "llama-server"
    assert resolve_engine("auto", AVX2_CPU, present=lambda engine: False) == "openvino"  # starting it says why
    assert EmbeddedServer(binary=Path("/no/llama-server")).engine_used == "llama-server"  # the smoke test's case
    with pytest.raises(ValueError, match="unknown embedded engine 'vllm'"):
        resolve_engine("vllm")  # type: ignore[arg-type]
    parser = argparse.ArgumentParser()
    add_llm_arguments(parser)
    assert config_from_args(parser.parse_args(["--llm-embedded-engine", "transformers"]),
                            environ={}).embedded_engine == "transformers"
    assert LLMConfig.resolve(environ={"REASONIR_LLM_EMBEDDED_ENGINE": "llama-server",
                                      "REASONIR_LLM_EMBEDDED_DTYPE": "float32"}).embedded_dtype == "float32"


def test_auto_is_openvino_and_llama_server_where_it_is_missing() -> None:
    assert AUTO_BY_CPU == {"bf16": "openvino", "no-bf16": "openvino"}  # the measured winners (MEASURED)
    no_openvino = lambda engine: engine != "openvino"
    for cpu in (BF16_CPU, AVX2_CPU):
        assert resolve_engine("auto", cpu, present=lambda engine: True) == "openvino"
        assert resolve_engine("auto", cpu, present=no_openvino) == "llama-server"  # the first other engine
        assert resolve_engine("openvino", cpu, present=no_openvino) == "openvino"  # explicit: never swapped


def test_a_server_for_auto_is_a_server_engine_even_where_auto_runs_in_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from reasonir.llm import engines

    monkeypatch.setattr(engines, "_kept_verdict", lambda: None)
    monkeypatch.setattr(engines, "auto_engine", lambda flags=None: "openvino")
    assert resolve_engine("auto", present=lambda engine: True) in IN_PROCESS
    assert server_engine("auto", present=lambda engine: True) == "llama-server"
    assert server_engine("auto", present=lambda engine: engine != "llama-server") == "transformers"
    assert server_engine("auto", present=lambda engine: False) == SERVERS[0]  # starting it says what is missing
    assert server_engine("transformers", present=lambda engine: True) == "transformers"
    monkeypatch.setattr(engines, "engine_present", lambda engine: True)
    assert EmbeddedServer(port=1).engine_used == "llama-server"  # what tests/endpoints.py and the doctor start


def test_transformers_engine_has_no_slots_and_serves_under_the_same_model_name() -> None:
    server = EmbeddedServer(engine="transformers", port=1, dtype="bfloat16")
    command = server.command()
    assert server.slots is None and server.model_id == DEFAULT_ALIAS
    assert command[command.index("serve") + 1] == DEFAULT_ALIAS and "--continuous-batching" in command
    # the KV cache is sized like llama-server's 8 x 2,048 tokens, not from the machine's RAM
    assert command[command.index("--cb-num-blocks") + 1] == str(8 * 2048 // 256)
    assert server.workdir() is not None and server.workdir().name == conversion_key(  # type: ignore[union-attr]
        default_model_path(), STORED_DTYPE)  # one folder for every engine, cast at load
    assert command[command.index("--dtype") + 1] == "bfloat16"
    # the settings transformers serve keeps for its life are the synthesizer's (its main work), defined there
    assert TRANSFORMERS_SAMPLING == {"temperature": SynthConfig.temperature, "top_p": SynthConfig.top_p}
    assert loader.embedded_json_mode("transformers", "auto") == "none"
    assert loader.embedded_json_mode("transformers", "json_object") == "json_object"  # an explicit mode is kept


# ---- the conversion cache (a fake converter: the real one is exercised by the server below) ------------------------
def _fake_convert(calls: list[Path]):  # type: ignore[no-untyped-def]
    def convert(source: Path, out: Path, dtype: str) -> None:
        calls.append(out)
        (out / "config.json").write_text("{}")

    return convert


def test_conversion_is_made_once_atomically_and_redone_for_a_changed_source(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "m.gguf"
    source.write_bytes(b"GGUF")
    calls: list[Path] = []
    monkeypatch.setattr(hf_convert, "_convert", _fake_convert(calls))
    first = convert_gguf(source, "M", "bfloat16", root=tmp_path / "models")
    again = convert_gguf(source, "M", "bfloat16", root=tmp_path / "models")
    assert first.made and not again.made and again.folder == first.folder and len(calls) == 1
    assert (first.folder / DONE_MARK).is_file() and first.folder.name == "M"
    assert not list(first.folder.parent.glob(".*partial"))  # written beside it, then renamed into place
    assert convert_gguf(source, "M", "float32", root=tmp_path / "models").made  # another dtype, another folder
    os.utime(source, ns=(time.time_ns(), time.time_ns() + 10**9))  # the file changed: a new key, converted again
    assert convert_gguf(source, "M", "bfloat16", root=tmp_path / "models").folder != first.folder
    assert conversion_key(source, "bfloat16", transformers_version="9.0") != conversion_key(
        source, "bfloat16", transformers_version="5.24.0")


def test_a_failed_conversion_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "m.gguf"
    source.write_bytes(b"GGUF")

    def broken(source: Path, out: Path, dtype: str) -> None:
        (out / "model.safetensors").write_text("half a model")
        raise OSError("disk full")

    monkeypatch.setattr(hf_convert, "_convert", broken)
    with pytest.raises(OSError, match="disk full"):
        convert_gguf(source, "M", "bfloat16", root=tmp_path / "models")
    assert not [p for p in (tmp_path / "models").rglob("*") if p.is_file()]


def test_a_server_killed_by_a_signal_at_start_is_reported_as_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(EmbeddedServer, "_prepare", lambda self: dict(os.environ))  # no conversion
    monkeypatch.setattr(EmbeddedServer, "workdir", lambda self: None)
    monkeypatch.setattr(EmbeddedServer, "command", lambda self: [
        sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"])
    with pytest.raises(EngineCrashedError, match="transformers died with SIGSEGV at start; .*llama-server"):
        EmbeddedServer(engine="transformers").start()


# ---- a real transformers serve ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hf_server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(engine="transformers") as server:
        yield server


class _Shared:
    """The module's server as ``load_llm`` sees a new one; closing the client leaves it running for other tests."""

    def __init__(self, server: EmbeddedServer) -> None:
        self._server = server

    def __getattr__(self, name: str) -> object:
        return getattr(self._server, name)

    def start(self) -> EmbeddedServer:
        return self._server

    def stop(self) -> None:
        pass


@pytest.mark.engine("transformers")
def test_load_llm_wires_the_transformers_engine_and_json_steps_down_to_the_prompt(
        hf_server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "EmbeddedServer", lambda **kwargs: _Shared(hf_server))
    with load_llm(LLMConfig(cache_path="", embedded_engine="transformers")) as llm:
        # response_format would be ignored; there are no slots to pin requests to
        assert llm.model == DEFAULT_ALIAS and llm.json_mode == "none"  # type: ignore[attr-defined]
        assert llm._router is None  # type: ignore[attr-defined]
        plain = llm.chat(ChatRequest.user("Say hello.", sampling=Sampling(max_tokens=8)))
        asked = llm.chat(ChatRequest.user('Answer with JSON only, as {"query": "..."}: a search query about tides.',
                                          json_schema=QUERY_SCHEMA, sampling=Sampling(max_tokens=24)))
        report = llm.usage().as_dict()
    assert plain.ok and plain.text and plain.completion_tokens > 0 and plain.prompt_tokens > 0
    # without a grammar SmolLM2's JSON is hit or miss: either it parses, or the failure is counted, never raised
    assert asked.text is not None and (asked.parsed is not None or asked.error)
    assert report["requests"] == 2 and report["failures"] == (0 if asked.parsed is not None else 1)


@pytest.mark.engine("transformers")
def test_the_conversion_is_reused_by_a_second_start(hf_server: EmbeddedServer) -> None:
    assert hf_server.dtype == ("bfloat16" if bf16_supported() else "float32")
    found = convert_gguf(default_model_path(), DEFAULT_ALIAS, STORED_DTYPE)  # one folder; the server casts it
    assert not found.made and found.key_folder == hf_server.workdir()


@pytest.mark.engine("transformers")
def test_sampling_is_fixed_at_start_and_a_lone_seeded_request_repeats(hf_server: EmbeddedServer) -> None:
    """What transformers serve does with per-request settings under continuous batching (documented in
    docs/llm.md): the settings of the first request (reasonir's start-up decode) hold for every request after it,
    so even temperature 0 samples; a seed re-seeds torch's global generator, so one request alone repeats."""
    with llm_for(hf_server.base_url) as llm:
        seeded = [llm.chat(ChatRequest.user("Write one question about tides.",
                                            sampling=Sampling(temperature=0.8, top_p=0.95, max_tokens=12, seed=s)))
                  for s in (7, 8, 7)]
        greedy = [llm.chat(ChatRequest.user("Write one question about tides.",
                                            sampling=Sampling(temperature=0.0, max_tokens=12, seed=s)))
                  for s in (1, 2, 3)]
    assert all(r.ok for r in seeded + greedy)
    assert seeded[0].text == seeded[2].text  # the same seed, alone on the server: the same candidate
    assert len({r.text for r in greedy}) > 1  # temperature 0 asked, 0.8 served: llama-server would repeat itself


@pytest.mark.engine("transformers")
def test_a_killed_transformers_server_is_reported_as_a_crash_and_restarts(hf_server: EmbeddedServer) -> None:
    process = hf_server._process
    assert process is not None
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    with pytest.raises(EngineCrashedError, match="transformers died with SIGKILL while serving") as caught:
        hf_server.raise_if_died("while serving")
    assert caught.value.what == "transformers died with SIGKILL while serving"
    with pytest.raises(EndpointUnreachableError, match="not running"):
        hf_server.raise_if_died("while serving")
    hf_server.start()  # the same port again, the conversion reused
    assert hf_server.running and hf_server.decode("Hi", max_tokens=2) is not None
