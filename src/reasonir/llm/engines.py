"""Which program serves the embedded SmolLM2, and the one rule that picks it for ``--llm-embedded-engine auto``.

Two engines, both OpenAI-compatible servers on loopback that reasonir starts, checks and stops the same way
(``reasonir.llm.embedded.EmbeddedServer``):

* ``llama-server``: llama.cpp's C++ server (``reasonir.llm.native`` builds it), the packaged GGUF re-encoded as
  Q8_0, 8 slots decoded in one batch, requests pinned to slots by prompt so k candidates evaluate it once, JSON
  schemas compiled into a grammar, per-request sampling settings and seeds;
* ``transformers``: ``transformers serve`` with continuous batching, the GGUF converted once to a transformers
  folder (``reasonir.llm.hf_convert``) and run by torch in bf16 where the CPU has bf16 units (fp32 elsewhere).
  What it does not do (transformers 5.24): constrain output to a JSON schema (``response_format`` is ignored),
  honour per-request temperature, top_p or seed under continuous batching (the first request's settings hold for
  the server's life; reasonir sends the synthesizer's at start), honour ``stop``. See docs/llm.md.

``auto`` is :func:`auto_engine`: the engine measured fastest on synthesis-like load for this kind of CPU
(:data:`AUTO_BY_CPU`, with the figures in :data:`MEASURED`).

    >>> auto_engine(frozenset({"avx2", "fma"}))
    'llama-server'
    >>> resolve_engine("transformers")
    'transformers'
"""
from __future__ import annotations

import importlib.util
from typing import Literal, get_args

from reasonir.hardware import bf16_supported

Engine = Literal["auto", "llama-server", "transformers"]
ServingEngine = Literal["llama-server", "transformers"]
ENGINES: tuple[ServingEngine, ...] = get_args(ServingEngine)
CpuKind = Literal["bf16", "no-bf16"]

# The rule for ``auto``: this CPU kind -> the engine that made the most kept synthesis rows per minute there.
AUTO_BY_CPU: dict[CpuKind, ServingEngine] = {
    "bf16": "llama-server",
    "no-bf16": "llama-server",  # bf16 is emulated there (slower than fp32), and llama.cpp's int8 kernels stay fast
}
# What chose it (benchmarks/bench_llm_engines.py, benchmarks/results/llm_engines.json):
MEASURED = "not measured yet"


def cpu_kind(flags: frozenset[str] | None = None) -> CpuKind:
    return "bf16" if bf16_supported(flags) else "no-bf16"


def auto_engine(flags: frozenset[str] | None = None) -> ServingEngine:
    """The engine ``auto`` means on a CPU with ``flags`` (default: this one)."""
    return AUTO_BY_CPU[cpu_kind(flags)]


def resolve_engine(engine: Engine, flags: frozenset[str] | None = None) -> ServingEngine:
    """The engine that serves: ``auto`` is :func:`auto_engine`, the others are themselves."""
    if engine == "auto":
        return auto_engine(flags)
    if engine not in ENGINES:
        raise ValueError(f"unknown embedded engine {engine!r}; expected one of auto, {', '.join(ENGINES)}")
    return engine


def transformers_serve_missing() -> str | None:
    """None when ``transformers serve`` can run here, else the missing packages (it needs fastapi and uvicorn)."""
    missing = [name for name in ("torch", "transformers", "fastapi", "uvicorn", "openai")
               if importlib.util.find_spec(name) is None]
    return ", ".join(missing) or None
