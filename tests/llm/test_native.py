"""Building, caching and installing llama-server; the build profiles; the crash report of a bad build."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from conftest import needs_llama_server

from reasonir.cli import main
from reasonir.llm import MissingDependencyError
from reasonir.llm import native
from reasonir.llm.embedded import EmbeddedServer, smoke_decode
from reasonir.llm.errors import EngineCrashedError
from reasonir.llm.native import (BINARY, QUANTIZE, BuildStamp, build_cache, build_llama_server, cmake_flags,
                                 find_llama_server)

AMX_CPU = frozenset({"avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8"})


def _fake_compiler(calls: list[str]):  # type: ignore[no-untyped-def]
    """Stands in for cmake: writes a llama-server and llama-quantize naming the profile, as a build output."""

    def compile_with(profile, work, jobs, log_file):  # type: ignore[no-untyped-def]
        calls.append(profile)
        out = work / f"build-{profile}" / "bin"
        out.mkdir(parents=True)
        for name in (BINARY, QUANTIZE):
            (out / name).write_text(f"#!/bin/sh\necho {name} {profile}\n")
            (out / name).chmod(0o755)
        return out

    return compile_with


def test_a_cold_build_lands_in_the_cache_and_the_venv_and_a_second_install_copies_from_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REASONIR_CACHE", str(tmp_path / "empty-cache"))
    calls: list[str] = []
    first = build_llama_server(tmp_path / "venv1" / "bin" / BINARY, compile_with=_fake_compiler(calls),
                               smoke_test=lambda binary: None)
    cached = build_cache("native")
    assert first.how == "compiled" and first.smoke == "passed" and calls == ["native"]
    for folder in (cached, tmp_path / "venv1" / "bin"):
        assert (folder / BINARY).read_text().endswith(f"{BINARY} native\n")
        assert (folder / QUANTIZE).read_text().endswith(f"{QUANTIZE} native\n")
        assert os.access(folder / BINARY, os.X_OK) and not list(folder.glob("*.partial"))
    assert sorted(p.name for p in cached.iterdir()) == sorted([BINARY, BINARY + ".build.json", QUANTIZE])
    # another checkout on this machine: copied from the cache, nothing compiled
    second = build_llama_server(tmp_path / "venv2" / "bin" / BINARY, compile_with=_fake_compiler(calls),
                                smoke_test=lambda binary: pytest.fail("a cached build was smoke-tested again"))
    assert second.how == "cache" and calls == ["native"]
    assert (tmp_path / "venv2" / "bin" / QUANTIZE).read_text().endswith(f"{QUANTIZE} native\n")
    # and a rerun in the same checkout does nothing at all
    third = build_llama_server(tmp_path / "venv2" / "bin" / BINARY, compile_with=_fake_compiler(calls),
                               smoke_test=lambda binary: pytest.fail("a current build was smoke-tested again"))
    assert third.how == "current" and calls == ["native"]


def test_a_build_that_crashes_in_its_smoke_test_is_rebuilt_portable_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REASONIR_CACHE", str(tmp_path / "cache"))
    calls: list[str] = []

    def smoke(binary: Path) -> str | None:
        return "died with SIGSEGV while decoding" if binary.read_text().endswith("native-amx\n") else None

    result = build_llama_server(tmp_path / "bin" / BINARY, profile="native-amx", compile_with=_fake_compiler(calls),
                                smoke_test=smoke)
    assert calls == ["native-amx", "portable"] and result.profile == "portable"
    assert result.fell_back_from == "native-amx: died with SIGSEGV while decoding"
    assert (tmp_path / "bin" / BINARY).read_text().endswith("portable\n")
    # the cache of the profile asked for holds the build that works here, stamped with what it is
    assert BuildStamp.read(build_cache("native-amx") / BINARY).profile == "portable"  # type: ignore[union-attr]
    with pytest.raises(MissingDependencyError, match="portable profile died with SIGSEGV"):
        build_llama_server(tmp_path / "bin2" / BINARY, profile="portable", force=True,
                           compile_with=_fake_compiler([]), smoke_test=lambda b: "died with SIGSEGV while decoding")


def test_native_builds_leave_out_amx_kernels_and_portable_builds_use_only_what_the_cpu_has() -> None:
    native_flags = cmake_flags("native", AMX_CPU, machine="x86_64")
    assert "-DGGML_NATIVE=ON" in native_flags
    assert f"-DCMAKE_C_FLAGS={native.NO_AMX}" in native_flags and f"-DCMAKE_CXX_FLAGS={native.NO_AMX}" in native_flags
    assert not any("-mno-amx" in f for f in cmake_flags("native-amx", AMX_CPU, machine="x86_64"))
    avx_only = cmake_flags("portable", frozenset({"sse4_2", "avx"}), machine="x86_64")
    assert "-DGGML_NATIVE=OFF" in avx_only and "-DGGML_AVX=ON" in avx_only and "-DGGML_AVX2=OFF" in avx_only
    assert not any("amx" in f.lower() for f in cmake_flags("native", AMX_CPU, machine="aarch64"))


def test_a_binary_killed_by_a_signal_at_start_is_reported_as_a_crash_with_the_rebuild_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REASONIR_CACHE", str(tmp_path / "cache"))
    crashing = tmp_path / "llama-server"
    crashing.write_text("#!/bin/sh\nkill -SEGV $$\n")
    crashing.chmod(crashing.stat().st_mode | stat.S_IXUSR)
    (tmp_path / QUANTIZE).write_text("#!/bin/sh\nexit 1\n")  # no Q8_0 copy: the shipped weights are served
    (tmp_path / QUANTIZE).chmod(0o755)
    with pytest.raises(EngineCrashedError, match=r"llama-server died with SIGSEGV at start; rebuild .*--profile "
                                                 r"portable") as caught:
        EmbeddedServer(binary=crashing, weights="as-shipped").start()
    assert caught.value.what == "llama-server died with SIGSEGV at start"
    assert smoke_decode(crashing) == "llama-server died with SIGSEGV at start"


def test_an_explicit_binary_must_be_executable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "llama-server"
    fake.write_text("not a program")
    monkeypatch.setenv("REASONIR_LLAMA_SERVER", str(fake))
    with pytest.raises(MissingDependencyError, match="not an executable"):
        find_llama_server()


@pytest.mark.parametrize("default", [False, True])
def test_build_server_if_default_compiles_only_where_auto_runs_llama_server(
        default: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    compiled: list[str] = []
    monkeypatch.setenv("REASONIR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(native, "find_llama_server", lambda: None)
    monkeypatch.setattr("reasonir.llm.engines.llama_server_is_default", lambda: default)
    monkeypatch.setattr(native, "build_llama_server", lambda **kw: compiled.append(kw["profile"]) or native.NativeBuild(
        tmp_path / BINARY, kw["profile"], "compiled", "passed"))
    assert main(["llm", "build-server", "--if-default", "--output", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (compiled == ["native"]) == default and ("built" in out) != default
    if not default:
        assert out["built"] is False and "build-server" in out["reason"]


@needs_llama_server
def test_cli_build_server_reports_the_installed_binary(capsys: pytest.CaptureFixture[str]) -> None:
    # make install built it: the command finds it current and returns at once
    assert main(["llm", "build-server", "--output", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert Path(out["binary"]) == find_llama_server() and os.access(out["binary"], os.X_OK)
    assert out["how"] == "current" and out["source"] == native.SOURCE


@needs_llama_server
def test_the_server_command_runs_llama_server_with_batched_slots() -> None:
    server = EmbeddedServer(port=1)
    command = server.command()
    assert server.slots == 8 and "--parallel" in command and command[command.index("--ctx-size") + 1] == str(8 * 2048)
