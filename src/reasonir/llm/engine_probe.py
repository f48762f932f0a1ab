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

The verdict, its key and the rule that reads it are in :mod:`reasonir.llm.engine_verdict`.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Sequence
from dataclasses import asdict

from reasonir.data.atomic import atomic_open
from reasonir.llm.engine_verdict import INCUMBENT, PROBE_FORMAT, Verdict, pick, verdict_key, verdict_path

PROBE_SEEDS = 3  # seed prompts per pass
PROBE_CANDIDATES = 6  # candidates per seed (half the synthesizer's 12: the probe stays within minutes)
PROBE_MAX_TOKENS = 48
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
    """Probe the engines present here (default: llama-server, ct2 and openvino where they can start;
    ``transformers serve`` takes a minute to start and made fewer rows than llama-server wherever it was measured),
    pick, keep the verdict."""
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
