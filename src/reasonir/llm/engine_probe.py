"""``auto``'s verdict for the embedded LLM engine, measured on this machine and kept.

Which engine makes the most synthesis candidates a minute depends on the CPU (its matrix units, its memory) and on
the builds (llama.cpp's kernels, ctranslate2's), not on reasonir, so a table written on one machine does not carry
to the next. :func:`probe` runs the synthesizer's request pattern on every engine present here: one question prompt
per fixed probe document, its candidates sampled as the synthesizer samples them and sent together as a seed chain
sends them, twice per engine in alternating order (A B, B A) so a load change on a shared
machine falls on both; each engine's best pass counts. :func:`pick` keeps the incumbent (``llama-server``) unless a
challenger made at least :data:`MIN_SPEEDUP` times its candidates per second.

The verdict is JSON at ``$REASONIR_CACHE/llm/engine-auto-<key>.json``, ``<key>`` hashing the CPU signature, the
llama-server build and the ctranslate2 and transformers versions: a rebuilt server or a new ctranslate2 makes it
stale. ``reasonir llm probe-engines`` writes it (1-5 minutes on 2 cores, by load; the ct2 model's one-time
conversion aside); ``auto``
reads it when it is there and otherwise falls back to the rule in ``reasonir.llm.engines`` (never probing on its
own: a job should not start with a minute of benchmarking). ``reasonir doctor`` says which applied and why.

    >>> pick({"llama-server": 2.0, "ct2": 5.0})
    ('ct2', 'ct2 made 2.50x the candidates/s of llama-server (5.00 vs 2.00) in the probe')
    >>> pick({"llama-server": 2.0, "ct2": 2.2})[0]
    'llama-server'
"""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from reasonir.data.atomic import atomic_open
from reasonir.hardware import cpu_signature
from reasonir.paths import cache_root

INCUMBENT = "llama-server"
MIN_SPEEDUP = 1.25  # a challenger must beat the incumbent by this much: the probe's noise on a shared machine
PROBE_SEEDS = 3  # seed prompts per pass
PROBE_CANDIDATES = 6  # candidates per seed (half the synthesizer's 12: the probe stays within minutes)
PROBE_MAX_TOKENS = 48
PROBE_FORMAT = 2  # what _requests sends; a change makes earlier verdicts stale
PROBE_DOCUMENTS = (
    "Vitamin D deficiency is common in northern latitudes during winter. Supplementation trials reported fewer "
    "acute respiratory infections among participants with the lowest baseline levels, while those with adequate "
    "levels saw no benefit. The effect depended on daily or weekly dosing rather than large single boluses.",
    "A bond's duration measures the sensitivity of its price to changes in interest rates. For small rate changes "
    "the percentage price change is approximately the negative of modified duration times the change in yield; "
    "convexity corrects the approximation for larger moves.",
    "In a cohort of 2,400 patients, statin therapy reduced LDL cholesterol by 38% on average. Muscle symptoms were "
    "reported by 9% of treated and 8% of placebo participants, suggesting that most complaints were not caused by "
    "the drug itself.",
)


@dataclass(frozen=True)
class Verdict:
    engine: str
    reason: str
    rates: dict[str, float]  # candidates per second, best pass per engine
    date: str
    key: str


def verdict_key() -> str:
    """What the verdict depends on: this CPU, the llama-server build, ctranslate2's and transformers' versions."""
    from importlib.metadata import PackageNotFoundError, version

    from reasonir.llm.native import BuildStamp, find_llama_server

    parts = [cpu_signature(), f"probe {PROBE_FORMAT}"]
    server = find_llama_server()
    stamp = BuildStamp.read(server) if server is not None else None
    parts.append(json.dumps(asdict(stamp), sort_keys=True, default=str) if stamp is not None else str(server))
    for name in ("ctranslate2", "transformers"):
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} missing")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def verdict_path(key: str | None = None) -> Path:
    return cache_root() / "llm" / f"engine-auto-{key or verdict_key()}.json"


def read_verdict(path: Path | None = None) -> Verdict | None:
    """The kept verdict for this machine and these builds, or None (never probed, or stale)."""
    path = path or verdict_path()
    try:
        return Verdict(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def pick(rates: dict[str, float], min_speedup: float = MIN_SPEEDUP) -> tuple[str, str]:
    """The engine ``auto`` should use given each engine's candidates per second, and why."""
    if not rates:
        raise ValueError("no engine was measured")
    if INCUMBENT not in rates:
        best = max(rates, key=rates.__getitem__)
        return best, f"{best} is the fastest engine present ({INCUMBENT} is not built)"
    base = rates[INCUMBENT]
    best = max((e for e in rates if e != INCUMBENT), key=rates.__getitem__, default=None)
    if best is None:
        return INCUMBENT, f"{INCUMBENT} is the only engine present"
    ratio = rates[best] / base if base else float("inf")
    what = f"{ratio:.2f}x the candidates/s of {INCUMBENT} ({rates[best]:.2f} vs {base:.2f}) in the probe"
    if ratio >= min_speedup:
        return best, f"{best} made {what}"
    return INCUMBENT, f"{best} made only {what}; a challenger needs {min_speedup}x"


def _requests() -> list[list]:
    """Per probe document, ``PROBE_CANDIDATES`` requests for one question about it, sampled as the synthesizer
    samples (temperature 0.8, top_p 0.95, a seed per candidate). The prompt is the probe's own (``llm`` sits below
    ``synth`` and cannot read its prompt files), of the same shape: a system turn and the document in the user turn."""
    from reasonir.llm.types import ChatRequest, Sampling

    system = "You write exam questions that need the reader to apply an idea, not recall a fact."
    return [[ChatRequest.user(f"Text:\n{text}\n\nWrite one exam question (a concrete scenario with numbers) "
                              "that needs the idea in this text, without naming it.", system=system,
                              sampling=Sampling(temperature=0.8, top_p=0.95, max_tokens=PROBE_MAX_TOKENS, seed=j),
                              tag="probe")
             for j in range(PROBE_CANDIDATES)] for text in PROBE_DOCUMENTS[:PROBE_SEEDS]]


async def _one_pass(llm, groups: list[list]) -> float:  # type: ignore[no-untyped-def]
    """Candidates per second: every seed's candidates at once, as the synthesizer's chains send them."""
    start = time.perf_counter()
    results = await asyncio.gather(*(llm.achat(r) for g in groups for r in g))
    seconds = time.perf_counter() - start
    failed = [r.error for r in results if not r.ok]
    if failed:
        raise RuntimeError(f"the probe's request failed: {failed[0]}")
    return len(results) / seconds


def probe(engines: Sequence[str]) -> dict[str, float]:
    """Each engine's best candidates/s over two passes, A B then B A (every engine started as a job starts it, no
    response cache)."""
    from reasonir.llm import LLMConfig, load_llm

    groups = _requests()
    rates: dict[str, float] = {}
    llms = {e: load_llm(LLMConfig(embedded_engine=e, cache_path="")) for e in engines}  # type: ignore[arg-type]
    try:
        for order in (list(engines), list(engines)[::-1]):
            for engine in order:
                llm = llms[engine]
                loop = asyncio.new_event_loop()
                try:
                    rate = loop.run_until_complete(_one_pass(llm, groups))
                    loop.run_until_complete(llm.aclose_loop())
                finally:
                    loop.close()
                rates[engine] = max(rates.get(engine, 0.0), rate)
    finally:
        for llm in llms.values():
            llm.close()
    return rates


def measure_and_keep(engines: Sequence[str] | None = None) -> Verdict:
    """Probe the engines present here (default: llama-server and ct2 where they can start; ``transformers serve``
    takes a minute to start and made fewer rows than llama-server wherever it was measured), pick, keep the
    verdict."""
    from reasonir.llm.engines import ENGINES, engine_present

    engines = list(engines) if engines is not None else [e for e in ENGINES if e != "transformers"
                                                         and engine_present(e)]
    rates = probe(engines)
    engine, reason = pick(rates)
    key = verdict_key()
    verdict = Verdict(engine, reason, {e: round(r, 3) for e, r in rates.items()},
                      dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), key)
    path = verdict_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, overwrite=True) as handle:
        handle.write(json.dumps(asdict(verdict), indent=1) + "\n")
    return verdict
