"""Finding and (not) rebuilding llama-server; the engine choice."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reasonir.cli import main
from reasonir.llm import MissingDependencyError
from reasonir.llm.embedded import EmbeddedServer, resolve_engine
from reasonir.llm.native import build_llama_server, find_llama_server, llama_cpp_python_version


def test_an_explicit_binary_must_be_executable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "llama-server"
    fake.write_text("not a program")
    monkeypatch.setenv("REASONIR_LLAMA_SERVER", str(fake))
    with pytest.raises(MissingDependencyError, match="not an executable"):
        find_llama_server()


def test_a_current_build_is_not_redone(tmp_path: Path) -> None:
    dest = tmp_path / "bin" / "llama-server"
    dest.parent.mkdir()
    dest.write_text("#!/bin/sh\n")
    dest.with_name("llama-server.version").write_text(llama_cpp_python_version() + "\n")
    before = dest.stat().st_mtime_ns
    assert build_llama_server(dest) == dest and dest.stat().st_mtime_ns == before  # no download, no compile


def test_cli_build_server_reports_the_installed_binary(capsys: pytest.CaptureFixture[str]) -> None:
    # make install built it: the command finds it current and returns at once
    assert main(["llm", "build-server", "--output", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert Path(out["binary"]) == find_llama_server() and os.access(out["binary"], os.X_OK)


def test_auto_uses_llama_server_when_built_and_the_old_engine_is_one_option_away() -> None:
    assert resolve_engine("auto") == "llama-server"
    old = EmbeddedServer(engine="llama-cpp-python", port=1)
    assert old.slots is None and "llama_cpp.server" in old.command()
    new = EmbeddedServer(port=1)
    command = new.command()
    assert new.slots == 8 and "--parallel" in command and command[command.index("--ctx-size") + 1] == str(8 * 2048)
