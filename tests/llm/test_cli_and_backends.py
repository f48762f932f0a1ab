"""CLI exit codes for misconfiguration and bad input, and the optional vLLM backend's install hint."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from endpoints import FaultyEndpoint

from reasonir.cli import main
from reasonir.llm import LLMConfig, MissingDependencyError, load_llm
from reasonir.llm.embedded import free_port


def test_check_exits_3_for_unreachable_url_and_missing_key(capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["llm", "check", "--llm-base-url", f"http://127.0.0.1:{free_port()}/v1", "--llm-no-cache"]) == 3
    assert capsys.readouterr().err.count("\n") == 1  # one line, no stack trace
    monkeypatch.delenv("REASONIR_NO_KEY", raising=False)
    assert main(["llm", "check", "--llm-base-url", "https://llm.invalid/v1", "--llm-api-key-env",
                 "REASONIR_NO_KEY", "--llm-no-cache"]) == 3
    assert "$REASONIR_NO_KEY" in capsys.readouterr().err


def test_chat_against_an_endpoint_and_bad_schema_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FaultyEndpoint() as endpoint:
        flags = ["--llm-base-url", endpoint.base_url, "--llm-no-cache"]
        assert main(["llm", "chat", "hello", *flags, "--output", "json"]) == 0
        assert json.loads(capsys.readouterr().out)["text"] == "answer: HELLO"
        bad = tmp_path / "schema.json"
        bad.write_text("{not json")
        assert main(["llm", "chat", "hello", "--json-schema", str(bad), *flags]) == 2
        assert str(bad) in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_vllm_backend_without_vllm_says_how_to_install() -> None:
    with pytest.raises(MissingDependencyError, match="pip install vllm") as info:
        load_llm(LLMConfig(backend="vllm", model="Qwen/Qwen2.5-0.5B-Instruct", cache_path=""))
    assert info.value.exit_code == 3
