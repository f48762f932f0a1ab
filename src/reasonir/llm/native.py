"""llama.cpp's native ``llama-server``: where reasonir finds it and how it builds it.

The embedded SmolLM2 runs fastest behind ``llama-server`` (several sequences decoded in one batch, continuous
batching, a per-slot prompt cache; see docs/llm.md for the measurements). No PyPI wheel ships that binary, so
``make install`` builds it from the llama.cpp sources vendored in the llama-cpp-python sdist of the *installed*
version (same ggml as the Python bindings, CPU-native flags), about 6 minutes on 2 cores, and keeps it in the
virtualenv's ``bin/`` with a stamp naming that version:

    reasonir llm build-server            # or: python -m reasonir.llm.native

``find_llama_server()`` looks at ``$REASONIR_LLAMA_SERVER``, then the virtualenv's ``bin/``, then ``PATH``.

    >>> find_llama_server() is None or find_llama_server().name.startswith("llama-server")
    True
"""
from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from reasonir.llm.errors import MissingDependencyError

ENV_BINARY = "REASONIR_LLAMA_SERVER"
BINARY = "llama-server"
QUANTIZE = "llama-quantize"  # built beside it: re-encodes the packaged Q4_1 GGUF as Q8_0 (see q8_0_copy)
# CPU-only, static, no network features (reasonir serves on loopback; the web UI would be fetched from the hub)
CMAKE_FLAGS = ("-DCMAKE_BUILD_TYPE=Release", "-DBUILD_SHARED_LIBS=OFF", "-DGGML_NATIVE=ON", "-DLLAMA_BUILD_TESTS=OFF",
               "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_TOOLS=ON", "-DLLAMA_BUILD_SERVER=ON",
               "-DLLAMA_BUILD_APP=OFF", "-DLLAMA_BUILD_UI=OFF", "-DLLAMA_USE_PREBUILT_UI=OFF", "-DLLAMA_OPENSSL=OFF",
               "-DLLAMA_CURL=OFF")


def venv_binary() -> Path:
    """Where ``build_llama_server`` puts the binary: next to this interpreter's scripts."""
    return Path(sys.prefix) / "bin" / BINARY


def find_llama_server() -> Path | None:
    """The ``llama-server`` to run, or None when there is none (the caller falls back or says how to build)."""
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


def _stamp(binary: Path) -> Path:
    return binary.with_name(binary.name + ".version")


def llama_cpp_python_version() -> str:
    try:
        return importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        raise MissingDependencyError("building llama-server needs llama-cpp-python installed (its sdist holds the "
                                     "llama.cpp sources): pip install 'reasonir[llm]'") from None


def build_llama_server(dest: Path | None = None, *, jobs: int | None = None, force: bool = False,
                       log: Path | None = None) -> Path:
    """Build ``llama-server`` from the installed llama-cpp-python's sdist and install it at ``dest``.

    Skips the build when ``dest`` exists with a stamp for the same llama-cpp-python version (so ``make install``
    reruns cost nothing). Needs ``cmake`` and a C++ compiler; pip fetches the sdist. Returns the binary's path.
    """
    dest = dest or venv_binary()
    version = llama_cpp_python_version()
    stamp = _stamp(dest)
    if not force and dest.is_file() and stamp.is_file() and stamp.read_text().strip() == version:
        return dest
    built = _build_cache(version)  # another checkout on this machine built the same version: reuse it
    if not force and (built / BINARY).is_file() and (built / QUANTIZE).is_file():
        _install(built, dest)
        stamp.write_text(version + "\n")
        return dest
    if shutil.which("cmake") is None:
        raise MissingDependencyError("building llama-server needs cmake and a C++ compiler (apt-get install cmake "
                                     "g++), or set $REASONIR_LLAMA_SERVER to an existing llama-server binary")
    jobs = jobs or int(os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or os.cpu_count() or 2)
    with tempfile.TemporaryDirectory(prefix="reasonir-llama-server-") as tmp:
        work = Path(tmp)
        out = open(log, "a") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
        try:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
                            f"llama-cpp-python=={version}", "-d", str(work)], check=True, stdout=out, stderr=out)
            sdist = next(work.glob("llama_cpp_python-*.tar.gz"))
            with tarfile.open(sdist) as tar:
                tar.extractall(work, filter="data")
            source = next(work.glob("llama_cpp_python-*/vendor/llama.cpp"))
            build = work / "build"
            subprocess.run(["cmake", "-S", str(source), "-B", str(build), *CMAKE_FLAGS], check=True, stdout=out,
                           stderr=out)
            subprocess.run(["cmake", "--build", str(build), "--target", BINARY, QUANTIZE, "-j", str(jobs)],
                           check=True, stdout=out, stderr=out)
        except subprocess.CalledProcessError as exc:
            raise MissingDependencyError(f"building llama-server failed ({' '.join(map(str, exc.cmd[:4]))} ...: exit "
                                         f"{exc.returncode}){f'; see {log}' if log else ''}") from None
        finally:
            if log:
                out.close()  # type: ignore[union-attr]
        _install(build / "bin", built)
        _install(built, dest)
    stamp.write_text(version + "\n")
    return dest


def _build_cache(version: str) -> Path:
    """Where built binaries are kept per llama-cpp-python version (``$REASONIR_CACHE/native/<version>``, statically
    linked, so a fresh checkout's ``make install`` copies them instead of compiling for 15 CPU-minutes)."""
    from reasonir.llm.config import cache_root

    return cache_root() / "native" / version


def _install(folder: Path, dest: Path) -> None:
    """Copy llama-server and llama-quantize from ``folder`` to ``dest``'s folder, each atomically."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    for name, target in ((QUANTIZE, dest.with_name(QUANTIZE)), (BINARY, dest)):
        partial = target.with_name(target.name + ".partial")
        shutil.copy2(folder / name, partial)
        os.replace(partial, target)  # atomic: a crash leaves the old binary or none, never half of one


def q8_0_copy(source: Path, cache_dir: Path) -> Path | None:
    """``source`` (a Q4_1 GGUF) re-encoded as Q8_0 in ``cache_dir``, made once (about 2 s); None without
    ``llama-quantize``.

    Why: llama.cpp's CPU matrix kernels for prompts (llamafile's tinyBLAS, repacked Q8_0) do not cover Q4_1, and
    on CPU the prompt dominates this workload. Q8_0 holds every Q4_1 weight to within half of an 8-bit step (about
    1/8 of a Q4_1 step), so it is the same model for practical purposes, at 145 MB instead of 98 MB.
    """
    target = cache_dir / (source.stem.rsplit(".", 1)[0] + ".Q8_0.gguf")
    if target.is_file() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    server = find_llama_server()
    quantize = server.with_name(QUANTIZE) if server is not None else None
    if quantize is None or not quantize.is_file():
        return None
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + f".{os.getpid()}.partial")
    subprocess.run([str(quantize), "--allow-requantize", str(source), str(partial), "Q8_0"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.replace(partial, target)
    return target


if __name__ == "__main__":  # pragma: no cover - `python -m reasonir.llm.native`
    print(build_llama_server(force="--force" in sys.argv[1:]))
