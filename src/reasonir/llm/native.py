"""llama.cpp's native ``llama-server``: where reasonir finds it, and how it builds it so that it runs on this CPU.

The embedded SmolLM2 runs behind ``llama-server`` (several sequences decoded in one batch, continuous batching, a
per-slot prompt cache; see docs/llm.md). No PyPI wheel ships that binary, so ``make install`` compiles it from the
llama.cpp sources vendored in a pinned llama-cpp-python *source archive* (:data:`SOURCE`; only the sources are
used, the Python binding is not installed), about 15 CPU-minutes, and keeps it in the virtualenv's ``bin/``:

    reasonir llm build-server            # or: python -m reasonir.llm.native

Build profiles (:data:`BuildProfile`):

* ``native`` (default): tuned for this CPU (``GGML_NATIVE``) *without* llama.cpp's AMX kernels. On CPUs with
  AMX-INT8 those kernels segfault at the first decode (``ggml_backend_amx_mul_mat``; upstream
  ggml-org/llama.cpp#20824, unfixed), so they are compiled out with ``-mno-amx-*``;
* ``native-amx``: the same with the AMX kernels, for a llama.cpp that fixes them; it must pass the smoke test;
* ``portable``: no ``-march=native``; AVX2/FMA/F16C only where the CPU has them. The fallback.

After a build the binary must pass a smoke test (load SmolLM2, decode a few tokens); a build that crashes is
rebuilt once with ``portable`` flags, and the result says so. Builds are cached per source version, profile and
CPU (``$REASONIR_CACHE/native/<version>-<profile>-<cpu signature>/``, statically linked), so another checkout on
the same machine copies them, and a home folder shared with another CPU never runs a binary made for this one.

``find_llama_server()`` looks at ``$REASONIR_LLAMA_SERVER``, then the virtualenv's ``bin/``, then ``PATH``.

    >>> find_llama_server() is None or find_llama_server().name.startswith("llama-server")
    True
    >>> "-DGGML_NATIVE=OFF" in cmake_flags("portable", frozenset({"avx2"}), machine="x86_64")
    True
"""
from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from reasonir.hardware import cpu_flags, cpu_signature
from reasonir.llm.errors import MissingDependencyError
from reasonir.paths import cache_root

log = logging.getLogger(__name__)

ENV_BINARY = "REASONIR_LLAMA_SERVER"
BINARY = "llama-server"
QUANTIZE = "llama-quantize"  # built beside it: re-encodes the packaged Q4_1 GGUF as Q8_0 (see q8_0_copy)
# The source archive whose vendor/llama.cpp is compiled: a pinned release, so every machine builds the same code
SOURCE_PACKAGE, SOURCE_VERSION = "llama-cpp-python", "0.3.36"
SOURCE = f"{SOURCE_PACKAGE}=={SOURCE_VERSION}"
BuildProfile = Literal["native", "native-amx", "portable"]
BUILD_PROFILES: tuple[BuildProfile, ...] = get_args(BuildProfile)
DEFAULT_PROFILE: BuildProfile = "native"
FALLBACK_PROFILE: BuildProfile = "portable"
# CPU-only, static, no network features (reasonir serves on loopback; the web UI would be fetched from the hub)
COMMON_FLAGS = ("-DCMAKE_BUILD_TYPE=Release", "-DBUILD_SHARED_LIBS=OFF", "-DLLAMA_BUILD_TESTS=OFF",
                "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_TOOLS=ON", "-DLLAMA_BUILD_SERVER=ON",
                "-DLLAMA_BUILD_APP=OFF", "-DLLAMA_BUILD_UI=OFF", "-DLLAMA_USE_PREBUILT_UI=OFF", "-DLLAMA_OPENSSL=OFF",
                "-DLLAMA_CURL=OFF")
NO_AMX = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"  # GCC and Clang: explicit -mno-* wins over -march=native
# portable x86 builds: each ggml option, enabled only where the CPU has the instruction it needs
_PORTABLE_X86 = (("GGML_SSE42", "sse4_2"), ("GGML_AVX", "avx"), ("GGML_AVX2", "avx2"), ("GGML_FMA", "fma"),
                 ("GGML_F16C", "f16c"), ("GGML_BMI2", "bmi2"))


def venv_binary() -> Path:
    """Where ``build_llama_server`` puts the binary: next to this interpreter's scripts."""
    return Path(sys.prefix) / "bin" / BINARY


def find_llama_server() -> Path | None:
    """The ``llama-server`` to run, or None when there is none (the caller says how to build it)."""
    explicit = os.environ.get(ENV_BINARY)
    if explicit:
        path = Path(explicit).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise MissingDependencyError(f"${ENV_BINARY}={explicit} is not an executable file")
        return path
    local = venv_binary()
    if local.is_file() and os.access(local, os.X_OK):
        return local
    found = shutil.which(BINARY)
    return Path(found) if found else None


def cmake_flags(profile: BuildProfile, flags: frozenset[str] | None = None, *, machine: str | None = None
                ) -> list[str]:
    """The CMake arguments of a build profile on a CPU with ``flags`` (default: this one)."""
    if profile not in BUILD_PROFILES:
        raise ValueError(f"unknown build profile {profile!r}; expected one of {', '.join(BUILD_PROFILES)}")
    flags = cpu_flags() if flags is None else flags
    x86 = (machine or platform.machine()).lower() in {"x86_64", "amd64"}
    out = list(COMMON_FLAGS)
    if profile == "portable":
        out.append("-DGGML_NATIVE=OFF")
        if x86:
            out += [f"-D{option}={'ON' if flag in flags else 'OFF'}" for option, flag in _PORTABLE_X86]
        return out
    out.append("-DGGML_NATIVE=ON")
    if profile == "native" and x86:
        out += [f"-DCMAKE_C_FLAGS={NO_AMX}", f"-DCMAKE_CXX_FLAGS={NO_AMX}"]
    return out


@dataclass(frozen=True)
class BuildStamp:
    """What a binary was built from and for, kept beside it as JSON (``llama-server.build.json``)."""

    source: str
    profile: str
    cpu: str

    @classmethod
    def for_this_cpu(cls, profile: BuildProfile) -> BuildStamp:
        return cls(SOURCE, profile, cpu_signature())

    @staticmethod
    def path(binary: Path) -> Path:
        return binary.with_name(binary.name + ".build.json")

    @classmethod
    def read(cls, binary: Path) -> BuildStamp | None:
        try:
            data = json.loads(cls.path(binary).read_text())
            return cls(str(data["source"]), str(data["profile"]), str(data["cpu"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, binary: Path) -> None:
        target = self.path(binary)
        partial = target.with_name(target.name + ".partial")
        partial.write_text(json.dumps(self.__dict__) + "\n")
        os.replace(partial, target)


@dataclass(frozen=True)
class NativeBuild:
    """What ``build_llama_server`` did: where the binary is, how it was built, and how it was obtained."""

    binary: Path
    profile: BuildProfile
    how: Literal["current", "cache", "compiled"]
    smoke: str  # "passed", or "skipped" for a binary that was current or cached (it passed when it was built)
    fell_back_from: str | None = None  # "native: died with SIGSEGV while decoding" when a crash forced a rebuild

    def as_dict(self) -> dict[str, object]:
        return {"binary": str(self.binary), "profile": self.profile, "how": self.how, "smoke": self.smoke,
                "fell_back_from": self.fell_back_from, "source": SOURCE}


Compiler = Callable[[BuildProfile, Path, int, "Path | None"], Path]
SmokeTest = Callable[[Path], "str | None"]


def build_llama_server(dest: Path | None = None, *, profile: BuildProfile = DEFAULT_PROFILE, jobs: int | None = None,
                       force: bool = False, log_file: Path | None = None, compile_with: Compiler | None = None,
                       smoke_test: SmokeTest) -> NativeBuild:
    """Make sure ``dest`` (default: the virtualenv's ``bin/llama-server``) is a llama-server of ``profile`` for this
    CPU: kept when current, else copied from this machine's build cache, else compiled, smoke-tested and cached.

    A compiled binary that fails the smoke test is rebuilt once with the ``portable`` profile; one that fails
    that too raises ``MissingDependencyError`` with the reason. ``smoke_test`` is
    ``reasonir.llm.embedded.smoke_decode`` (passed in: the server that runs a binary sits above its build);
    ``compile_with`` replaces the compiler (tests run the caching and installing without one).
    """
    dest = dest or venv_binary()
    stamp = BuildStamp.for_this_cpu(profile)
    if not force and dest.is_file() and BuildStamp.read(dest) == stamp:
        return NativeBuild(dest, profile, "current", "skipped")
    cached = build_cache(profile)
    if not force and _complete(cached) and BuildStamp.read(cached / BINARY) is not None:
        built = BuildStamp.read(cached / BINARY)
        _install(cached, dest.parent, binary_name=dest.name)
        assert built is not None
        built.write(dest)
        return NativeBuild(dest, built.profile, "cache", "skipped")  # type: ignore[arg-type]
    compile_with = compile_with or compile_llama_cpp
    jobs = jobs or int(os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or os.cpu_count() or 2)
    fell_back_from = None
    built_profile = profile
    with tempfile.TemporaryDirectory(prefix="reasonir-llama-server-") as tmp:
        bin_folder = compile_with(profile, Path(tmp), jobs, log_file)
        failure = smoke_test(bin_folder / BINARY)
        if failure is not None and profile != FALLBACK_PROFILE:
            fell_back_from = f"{profile}: {failure}"
            log.warning("llama-server built with the %s profile %s; rebuilding with the %s profile", profile, failure,
                        FALLBACK_PROFILE)
            built_profile = FALLBACK_PROFILE
            bin_folder = compile_with(FALLBACK_PROFILE, Path(tmp), jobs, log_file)
            failure = smoke_test(bin_folder / BINARY)
        if failure is not None:
            raise MissingDependencyError(f"llama-server built with the {built_profile} profile {failure} in its smoke "
                                         f"test; see `reasonir doctor`{f' and {log_file}' if log_file else ''}")
        # cached under the profile asked for: the next build of it here takes the binary that works here
        _install(bin_folder, cached)
        BuildStamp(SOURCE, built_profile, cpu_signature()).write(cached / BINARY)
    _install(cached, dest.parent, binary_name=dest.name)
    BuildStamp(SOURCE, built_profile, cpu_signature()).write(dest)
    return NativeBuild(dest, built_profile, "compiled", "passed", fell_back_from)


def build_cache(profile: BuildProfile) -> Path:
    """This machine's build of ``profile``: ``$REASONIR_CACHE/native/<source version>-<profile>-<cpu signature>``."""
    return cache_root() / "native" / f"{SOURCE_VERSION}-{profile}-{cpu_signature()}"


def _complete(folder: Path) -> bool:
    return (folder / BINARY).is_file() and (folder / QUANTIZE).is_file()


def _install(source: Path, target: Path, *, binary_name: str = BINARY) -> None:
    """Copy llama-server (as ``binary_name``) and llama-quantize from folder ``source`` into folder ``target``,
    each atomically: a crash leaves the old file or none, never half of one."""
    target.mkdir(parents=True, exist_ok=True)
    for name, as_name in ((QUANTIZE, QUANTIZE), (BINARY, binary_name)):
        partial = target / (as_name + ".partial")
        shutil.copy2(source / name, partial)
        os.replace(partial, target / as_name)


def compile_llama_cpp(profile: BuildProfile, work: Path, jobs: int, log_file: Path | None = None) -> Path:
    """Fetch :data:`SOURCE` into ``work`` (pip, from the package index; once: a second profile reuses it), configure
    it for ``profile`` and build llama-server and llama-quantize; returns the folder holding both. Needs cmake and a
    C++ compiler."""
    if shutil.which("cmake") is None:
        raise MissingDependencyError("building llama-server needs cmake and a C++ compiler (apt-get install cmake "
                                     "g++), or set $REASONIR_LLAMA_SERVER to an existing llama-server binary")
    work.mkdir(parents=True, exist_ok=True)
    out = open(log_file, "a") if log_file else subprocess.DEVNULL  # noqa: SIM115 - closed below
    try:
        source = _unpacked_source(work / "source", out)
        build = work / f"build-{profile}"
        subprocess.run(["cmake", "-S", str(source), "-B", str(build), *cmake_flags(profile)], check=True,
                       stdout=out, stderr=out)
        subprocess.run(["cmake", "--build", str(build), "--target", BINARY, QUANTIZE, "-j", str(jobs)],
                       check=True, stdout=out, stderr=out)
    except subprocess.CalledProcessError as exc:
        raise MissingDependencyError(f"building llama-server failed ({' '.join(map(str, exc.cmd[:4]))} ...: exit "
                                     f"{exc.returncode}){f'; see {log_file}' if log_file else ''}") from None
    finally:
        if log_file:
            out.close()  # type: ignore[union-attr]
    return build / "bin"


def _unpacked_source(work: Path, out: object) -> Path:
    existing = next(work.glob("llama_cpp_python-*/vendor/llama.cpp"), None)
    if existing is not None:
        return existing
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps", SOURCE,
                    "-d", str(work)], check=True, stdout=out, stderr=out)  # type: ignore[arg-type]
    sdist = next(work.glob("llama_cpp_python-*.tar.gz"))
    with tarfile.open(sdist) as tar:
        tar.extractall(work, filter="data")
    return next(work.glob("llama_cpp_python-*/vendor/llama.cpp"))


def q8_0_copy(source: Path, cache_dir: Path, quantize: Path | None = None) -> Path | None:
    """``source`` (a Q4_1 GGUF) re-encoded as Q8_0 in ``cache_dir``, made once (about 2 s); None without a working
    ``llama-quantize`` (default: the one beside ``find_llama_server()``).

    Why: llama.cpp's CPU matrix kernels for prompts (llamafile's tinyBLAS, repacked Q8_0) do not cover Q4_1, and
    on CPU the prompt dominates this workload. Q8_0 holds every Q4_1 weight to within half of an 8-bit step (about
    1/8 of a Q4_1 step), so it is the same model for practical purposes, at 145 MB instead of 98 MB.
    """
    target = cache_dir / (source.stem.rsplit(".", 1)[0] + ".Q8_0.gguf")
    if target.is_file() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    if quantize is None:
        server = find_llama_server()
        quantize = server.with_name(QUANTIZE) if server is not None else None
    if quantize is None or not quantize.is_file():
        return None
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + f".{os.getpid()}.partial")
    try:
        subprocess.run([str(quantize), "--allow-requantize", str(source), str(partial), "Q8_0"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError) as exc:
        partial.unlink(missing_ok=True)
        log.warning("%s could not re-encode %s as Q8_0 (%s); serving the weights as shipped", quantize, source.name,
                    exc)
        return None
    os.replace(partial, target)
    return target
