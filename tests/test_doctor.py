"""``reasonir doctor``: one line per check, JSON with --output json, exit 1 when a part fails."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from reasonir.cli import main
from reasonir.doctor import check_llama_server, check_torch, healthy, run_checks


def test_the_cheap_checks_describe_this_cpu_and_torch(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--no-encoder", "--no-llm", "--output", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    names = [c["name"] for c in report["checks"]]
    assert names == ["cpu", "torch", "onnxruntime"] and report["healthy"]
    assert "kernel flags" in report["checks"][0]["detail"] and "bf16 matmul" in report["checks"][1]["detail"]


def test_a_llama_server_that_crashes_fails_its_check_with_the_rebuild_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    crashing = tmp_path / "llama-server"
    crashing.write_text("#!/bin/sh\nkill -SEGV $$\n")
    crashing.chmod(0o755)
    (tmp_path / "llama-quantize").write_text("#!/bin/sh\nexit 1\n")
    (tmp_path / "llama-quantize").chmod(0o755)
    monkeypatch.setenv("REASONIR_LLAMA_SERVER", str(crashing))
    monkeypatch.setenv("REASONIR_CACHE", str(tmp_path / "cache"))
    check = check_llama_server()
    assert check.status == "fail" and "died with SIGSEGV at start" in check.detail and "--profile portable" in \
        check.detail
    assert main(["doctor", "--no-encoder"]) == 1
    assert "fail  llama-server" in capsys.readouterr().out


@pytest.mark.parametrize("default, status", [(False, "info"), (True, "fail")])
def test_a_missing_llama_server_fails_only_where_auto_would_run_it(default: bool, status: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("reasonir.llm.native.find_llama_server", lambda: None)
    monkeypatch.setattr("reasonir.llm.engines.llama_server_is_default", lambda: default)
    check = check_llama_server()
    assert check.status == status and "not built" in check.detail and "build-server" in check.detail


def test_a_check_that_raises_is_reported_and_the_others_still_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise RuntimeError("no torch here")

    monkeypatch.setattr("reasonir.doctor.check_torch", broken)
    checks = list(run_checks(encoder=False, llm=False))
    assert [c.status for c in checks] == ["info", "fail", "info"] and not healthy(checks)
    assert checks[1].detail == "RuntimeError: no torch here" and check_torch is not broken


def test_the_encoder_check_encodes_with_the_backend_auto_picks() -> None:
    from reasonir.doctor import check_encoder

    check = check_encoder()
    assert check.status == "pass" and "passages/s" in check.detail and "(auto: " in check.detail
