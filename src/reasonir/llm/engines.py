"""Which program serves the embedded SmolLM2, and the one rule that picks it for ``--llm-embedded-engine auto``.

Four engines. Two are OpenAI-compatible servers on loopback that reasonir starts, checks and stops the same way
(``reasonir.llm.embedded.EmbeddedServer``); the other two run in this process:

* ``llama-server``: llama.cpp's C++ server (``reasonir.llm.native`` builds it), the packaged GGUF re-encoded as
  Q8_0, 8 slots decoded in one batch, requests pinned to slots by prompt so k candidates evaluate it once, JSON
  schemas compiled into a grammar, per-request sampling settings and seeds;
* ``transformers``: ``transformers serve`` with continuous batching, the GGUF converted once to a transformers
  folder (``reasonir.llm.hf_convert``) and run by torch in bf16 where the CPU has bf16 units (fp32 elsewhere).
  What it does not do (transformers 5.24): constrain output to a JSON schema (``response_format`` is ignored),
  honour per-request temperature, top_p or seed under continuous batching (the first request's settings hold for
  the server's life; reasonir sends the synthesizer's at start), honour ``stop``. See docs/llm.md;
* ``ct2``: CTranslate2's ``Generator`` (``reasonir.llm.ct2_engine``), a seed's candidates from one static prompt;
* ``openvino``: OpenVINO GenAI's continuous-batching pipeline (``reasonir.llm.openvino_engine``), bf16 on CPUs with
  bf16 units, a seed's candidates as one request of k sequences, JSON schemas enforced while decoding.

``auto`` is, in this order: the verdict measured on this machine and kept (``reasonir llm probe-engines``, see
``reasonir.llm.engine_probe``); else :func:`auto_engine`, the engine measured fastest on synthesis-like load for
this kind of CPU (:data:`AUTO_BY_CPU`, with the figures in :data:`MEASURED`); else another one where that is not
present. :func:`explain_auto` says which applied and why (``reasonir doctor`` prints it).

    >>> auto_engine(frozenset({"avx2", "fma"}))
    'openvino'
    >>> resolve_engine("transformers")
    'transformers'
"""
from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from typing import Literal, get_args

from reasonir.hardware import bf16_supported

Engine = Literal["auto", "llama-server", "transformers", "ct2", "openvino"]
ServingEngine = Literal["llama-server", "transformers", "ct2", "openvino"]
IN_PROCESS: frozenset[ServingEngine] = frozenset({"ct2", "openvino"})  # run in reasonir's process, no server
SERVERS: tuple[ServingEngine, ...] = ("llama-server", "transformers")  # EmbeddedServer runs these, in this order
ENGINES: tuple[ServingEngine, ...] = get_args(ServingEngine)
CpuKind = Literal["bf16", "no-bf16"]
log = logging.getLogger(__name__)

# The rule for ``auto``: this CPU kind -> the engine that made the most kept synthesis rows per minute there.
AUTO_BY_CPU: dict[CpuKind, ServingEngine] = {
    "bf16": "openvino",  # OpenVINO GenAI in bf16 made 6-8x llama-server's kept rows a minute on an AMX Xeon, 4.4-4.5x
    # on an AVX512-BF16 EPYC without AMX (MEASURED)
    # in f32 it made 2.2-4.2x those of llama-server built for AVX2 on that Xeon capped to AVX2 (an emulation: MEASURED)
    "no-bf16": "openvino",
}
# What chose it: benchmarks/bench_llm_engines.py on 2 shared cores of an Intel Xeon with AVX-512, AVX512-BF16, VNNI
# and AMX, 2026-12-02 to 2026-12-07 (benchmarks/results/llm_engines.json, llm_engines_loaded.json,
# synth_engines_amx.json, synth_engines_openvino_amx.json, synth_engines_avx2_emulated*.json), and of an AVX2-only
# AMD EPYC (synth_engines_avx2.json)
MEASURED = """\
kept synthesis rows/min, 8 SciFact seeds, --kinds hq, same seeds, no response cache, rounds A B / B A:
  quiet (load 1.2-5.7): llama-server 3.23, 1.93; transformers bf16 1.54, 2.00 (ratio per round 0.48, 1.04);
                        transformers fp32 1.13, 1.11
  loaded (load 10 -> 1.5): llama-server 1.37, 2.53; transformers bf16 0.55, 1.47 (ratio per round 0.40, 0.58)
requests (4 prompts x 4 candidates, 64 tokens), quiet: llama-server 54.3, 30.5/min; transformers bf16 39.1,
  51.8/min (ratio 0.72, 1.70: within the noise); fp32 29.5, 16.6/min
llama.cpp with its AMX kernels (native-amx): SIGSEGV in ggml_backend_amx_mul_mat at start, not measurable
ct2 (CTranslate2 float32, a seed's candidates from one static prompt), AVX2-only AMD EPYC, 2 shared cores, load 5-6,
  10 SciFact seeds, 2026-12-06 (benchmarks/results/synth_engines_avx2.json): llama-server 2.62, ct2 0.70 rows/min
  (0.27x, round A B only)
AMX Xeon, 10 SciFact seeds, --kinds hq, A B / B A, load 2-4 from another job, 2026-12-06:
  ct2 (int8_float32: ctranslate2 has no CPU bfloat16): llama-server 3.28, 1.93; ct2 2.54, 2.18 rows/min (0.77x, 1.13x)
  openvino (bf16, a seed's candidates one request of 12 sequences, sampling truncated as llama-server's): llama-server
  2.23, 2.10; openvino 13.81, 14.51 rows/min (6.19x, 6.91x); seed yield 0.8 both rounds against 0.9, 0.8;
  round-trip pass rate 0.44 against 0.31, 0.38; filler drop share 0.24 against 0.17 (synth_engines_openvino_amx.json)
the same Xeon capped to AVX2 (benchmarks/isa_cap/run_avx2.sh: CPUID answered as an AVX2-only CPU, no AVX-512, AMX,
  bf16 or VNNI), 2026-12-07, --kinds hq, A B / B A: llama-server built for AVX2 (portable) against openvino in f32:
  20 seeds 3.35, 2.88 vs 7.27, 7.46 rows/min (2.17x, 2.59x); 40 seeds 2.93, 3.23 vs 11.60, 13.51 (3.96x, 4.18x)
  (synth_engines_avx2_emulated.json, synth_engines_avx2_emulated_40seeds.json)
AMD EPYC with AVX512-BF16 and VNNI, no AMX, quiet, 2026-12-07, 20 SciFact seeds, --kinds hq, A B / B A: llama-server
  (native build) 5.03, 4.89 vs openvino (bf16) 22.3, 22.05 rows/min (4.43x, 4.51x); seed yield 0.75, 0.8 vs 0.8
  (benchmarks/bench_engine_rows.py: engine_rows_zen4.json)
"""


def cpu_kind(flags: frozenset[str] | None = None) -> CpuKind:
    return "bf16" if bf16_supported(flags) else "no-bf16"


def auto_engine(flags: frozenset[str] | None = None) -> ServingEngine:
    """The engine ``auto`` means on a CPU with ``flags`` (default: this one)."""
    return AUTO_BY_CPU[cpu_kind(flags)]


def resolve_engine(engine: Engine, flags: frozenset[str] | None = None,
                   present: Callable[[ServingEngine], bool] | None = None) -> ServingEngine:
    """The engine that serves: ``auto`` is :func:`auto_engine`, or the other engine when that one is not present
    here (llama-server not built, or ``transformers serve``'s packages missing; a warning says so); an explicit
    engine is itself, present or not (starting it says what is missing)."""
    if engine != "auto":
        if engine not in ENGINES:
            raise ValueError(f"unknown embedded engine {engine!r}; expected one of auto, {', '.join(ENGINES)}")
        return engine
    present = present or engine_present
    if flags is None:  # this machine: its own measured verdict wins over the table
        verdict = _kept_verdict()
        if verdict is not None and present(verdict.engine):  # type: ignore[arg-type]
            return verdict.engine  # type: ignore[return-value]
    chosen = auto_engine(flags)
    if present(chosen):
        return chosen
    for other in (e for e in ENGINES if e != chosen):
        if present(other):
            log.warning("the embedded engine for this CPU, %s, is not available here; using %s", chosen, other)
            return other
    return chosen  # none: starting it raises MissingDependencyError with what to install


def llama_server_is_default() -> bool:
    """Whether ``auto`` runs the embedded LLM on llama-server on this machine, once it is built: what ``make
    install`` asks before compiling it (15 CPU-minutes), since where OpenVINO GenAI is installed the in-process
    openvino engine runs instead and llama-server only serves ``--llm-embedded-engine llama-server`` and the
    server-only paths (``reasonir llm build-server`` builds it for those)."""
    return resolve_engine("auto", present=lambda e: e == "llama-server" or engine_present(e)) == "llama-server"


def llama_server_not_needed() -> str | None:
    """Why llama-server need not be built here, in words (``make install`` and ``reasonir doctor`` say it), or None
    where :func:`llama_server_is_default`."""
    if llama_server_is_default():
        return None
    return (f"the embedded LLM runs on {resolve_engine('auto')} on this CPU; `reasonir llm build-server` builds "
            "llama-server for --llm-embedded-engine llama-server")


def server_engine(engine: Engine, present: Callable[[ServingEngine], bool] | None = None) -> ServingEngine:
    """The engine an ``EmbeddedServer`` runs for ``engine``: itself, or for ``auto`` the engine :func:`resolve_engine`
    picks when that is a server, else the first of :data:`SERVERS` present here (``auto`` may pick an in-process
    engine, which a server cannot run; llama-server when none is present: starting it says what is missing)."""
    chosen = resolve_engine(engine, present=present)
    if engine != "auto" or chosen not in IN_PROCESS:
        return chosen
    present = present or engine_present
    return next((e for e in SERVERS if present(e)), SERVERS[0])


def _kept_verdict():  # type: ignore[no-untyped-def]
    from reasonir.llm.engine_verdict import read_verdict

    try:
        return read_verdict()
    except Exception:  # noqa: BLE001 - a verdict that cannot be read is no verdict; the table applies
        return None


def explain_auto() -> tuple[ServingEngine, str]:
    """The engine ``auto`` means on this machine, and why (for ``reasonir doctor``)."""
    engine = resolve_engine("auto")
    verdict = _kept_verdict()
    if verdict is not None and verdict.engine == engine:
        return engine, f"measured here on {verdict.date}: {verdict.reason}"
    table = auto_engine()
    why = (f"the rule for CPUs {'with' if cpu_kind() == 'bf16' else 'without'} bf16 units (reasonir.llm.engines; "
           "no verdict measured on this machine: reasonir llm probe-engines measures one)")
    if engine != table:
        why += f"; {table} is not available here"
    return engine, why


def ct2_missing() -> str | None:
    """None when the ct2 engine can run here, else the missing packages (transformers converts and tokenizes)."""
    return _missing("ctranslate2", "transformers", "torch")


def openvino_missing() -> str | None:
    """None when the openvino engine can run here, else the missing packages (gguf writes its F16 copy)."""
    return _missing("openvino_genai", "openvino_tokenizers", "gguf")


def engine_present(engine: ServingEngine) -> bool:
    """Whether ``engine`` can start here: a llama-server binary is found, or the packages of transformers serve, of
    ctranslate2 or of OpenVINO GenAI are."""
    if engine == "llama-server":
        from reasonir.llm.native import find_llama_server

        return find_llama_server() is not None
    if engine == "ct2":
        return ct2_missing() is None
    if engine == "openvino":
        return openvino_missing() is None
    return transformers_serve_missing() is None


def transformers_serve_missing() -> str | None:
    """None when ``transformers serve`` can run here, else the missing packages (it needs fastapi and uvicorn)."""
    return _missing("torch", "transformers", "fastapi", "uvicorn", "openai")


def _missing(*modules: str) -> str | None:
    """The comma-joined ``modules`` that cannot be imported here (found, not imported), or None for none."""
    return ", ".join(m for m in modules if importlib.util.find_spec(m) is None) or None
