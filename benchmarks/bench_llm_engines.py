"""The embedded LLM's engines side by side in one run: the same synthesis-like requests, then the same synthesis job.

Engines (``--engines``, each started through ``load_llm`` exactly as a job starts it; no response cache):

* ``llama-server``: today's default, llama.cpp built with the ``native`` profile (no AMX kernels), Q8_0 weights,
  8 slots, requests pinned to slots by prompt;
* ``llama-server-amx``: the same server built with the ``native-amx`` profile (``--amx-binary``; see
  ``reasonir.llm.native``), run only when that build kept its AMX kernels (its stamp says ``native-amx``);
* ``transformers``: ``transformers serve --continuous-batching``, the GGUF converted to a transformers folder, bf16
  where the CPU has bf16 units;
* ``transformers-fp32``: the same in fp32 (what the bf16 units buy);
* ``ct2``: CTranslate2 in the benchmark's process (``reasonir.llm.ct2_engine``), its compute type chosen for this
  CPU, a seed's candidates sampled from one evaluation of their prompt;
* ``openvino``: OpenVINO GenAI's continuous-batching pipeline in the benchmark's process
  (``reasonir.llm.openvino_engine``), bf16 on CPUs with bf16 units, a seed's candidates one request of k sequences;
* ``openvino-f32``: the same in f32 (what it runs in on a CPU without bf16 units).

Two measurements per engine start:

1. **requests**: the synthesizer's own small-style HQ question prompts (``synth.hq.question_request``) for
   ``--prompts`` SciFact documents, ``--k`` sampled candidates each (temperature 0.8, top_p 0.95, a seed per
   candidate), ``--chains`` prompts in flight with all their candidates at once, as the synthesizer sends them:
   prompt and generated tokens per second (the server's counts; a prompt served from a prompt cache counts) and
   requests per minute;
2. **synthesis**: ``reasonir.synth.asynthesize`` with ``--kinds hq`` on ``--seeds`` SciFact documents (the same
   seeds every run: ``SynthConfig.seed`` 0; the corpus ranker built once before any timing): kept rows per minute
   (rows / the job's wall time), with what decides whether the rows are as good: seed yield, the share of
   candidates each filter drops and the round-trip pass rate.

Rounds alternate the order of the engines (A B, B A, ...), so that with two engines and two rounds each runs once
first and once second on a machine whose load drifts (the load average is recorded around every run). The JSON has
every run, medians, the spread of per-round ratios to the first engine, the CPU (``reasonir.hardware.describe``)
and the versions.

    .venv/bin/python benchmarks/bench_llm_engines.py [--engines llama-server,transformers] [--rounds 2]
        [--seeds 10] [--prompts 8] [--k 4] [--amx-binary /tmp/amx/bin/llama-server] [--lock /tmp/reasonir-bench.lock]

``--lock FILE`` holds an exclusive flock on FILE around each timed part only (a machine shared with other
benchmarks: each waits for the others' timed runs, none holds the lock for the whole benchmark).

Writes benchmarks/results/llm_engines.json.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from _common import RESULTS_DIR, send_chains, write_results  # benchmarks/ is the script's folder

ROOT = Path(__file__).resolve().parents[1]
RESULTS = RESULTS_DIR / "llm_engines.json"
DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "scifact" / "corpus.jsonl"
# environment variables that change which instruction set the engines' kernels use (benchmarks/isa_cap/run_avx2.sh)
ISA_ENVIRONMENT = ("ONEDNN_MAX_CPU_ISA", "OV_CPU_MAX_ISA", "GLIBC_TUNABLES", "LD_PRELOAD", "REASONIR_LLAMA_SERVER")


@dataclass(frozen=True)
class Variant:
    engine: str  # LLMConfig.embedded_engine
    binary: str | None = None  # llama-server: $REASONIR_LLAMA_SERVER for this run
    dtype: str | None = None  # transformers: EmbeddedServer.dtype (None: bf16 where the CPU has it)


def variants(args: argparse.Namespace) -> dict[str, Variant]:
    return {"llama-server": Variant("llama-server"),
            "llama-server-amx": Variant("llama-server", binary=args.amx_binary),
            "transformers": Variant("transformers"),
            "transformers-fp32": Variant("transformers", dtype="float32"),
            "ct2": Variant("ct2"),
            "openvino": Variant("openvino"),
            "openvino-f32": Variant("openvino", dtype="float32")}


@contextlib.contextmanager
def started(v: Variant) -> Iterator[object]:
    """``load_llm`` for variant ``v``, with the environment it needs; closed (server stopped) after."""
    from reasonir.llm import LLMConfig, load_llm

    saved = os.environ.get("REASONIR_LLAMA_SERVER")
    if v.binary:
        os.environ["REASONIR_LLAMA_SERVER"] = v.binary
    try:
        start = time.perf_counter()
        llm = load_llm(LLMConfig(cache_path="", embedded_engine=v.engine,  # type: ignore[arg-type]
                                 embedded_dtype=v.dtype))  # type: ignore[arg-type]
        llm.startup_s = time.perf_counter() - start  # type: ignore[attr-defined]
        try:
            yield llm
        finally:
            llm.close()
    finally:
        if v.binary:
            if saved is None:
                os.environ.pop("REASONIR_LLAMA_SERVER", None)
            else:
                os.environ["REASONIR_LLAMA_SERVER"] = saved


def question_groups(documents: list, n_prompts: int, k: int, context_window: int) -> list[list]:
    """``n_prompts`` groups of ``k`` requests: the synthesizer's small-style HQ question prompt for one document,
    one seed per candidate (exactly the requests a synthesis job sends for its first question round)."""
    from reasonir.synth import SynthConfig, load_prompts
    from reasonir.synth.hq import question_request
    from reasonir.synth.seeds import SeedStats, candidate_pool, prepare

    config = SynthConfig()
    config.seeds.n = n_prompts
    prompts = load_prompts(config.prompts_dir, "small")
    seeds = candidate_pool(prepare(documents, config, SeedStats(), context_window), config, "none")
    return [[question_request(seed, prompts, config, None, j) for j in range(k)] for seed in seeds]


def measure_requests(llm, groups: list[list], n_chains: int) -> dict:  # type: ignore[no-untyped-def]
    before = llm.usage().as_dict()
    load = os.getloadavg()[0]
    start = time.perf_counter()
    texts = asyncio.run(send_chains([llm], groups, n_chains))
    elapsed = time.perf_counter() - start
    after = llm.usage().as_dict()
    prompt = after["prompt_tokens"] - before["prompt_tokens"]
    completion = after["completion_tokens"] - before["completion_tokens"]
    n = sum(len(g) for g in groups)
    return {"seconds": round(elapsed, 2), "requests": n, "requests_per_min": round(60 * n / elapsed, 1),
            "prompt_tokens": prompt, "completion_tokens": completion,
            "prompt_tokens_per_s": round(prompt / elapsed, 1),
            "completion_tokens_per_s": round(completion / elapsed, 1),
            "distinct_candidates_per_prompt": round(statistics.mean(len(set(g)) for g in texts), 2),
            "loadavg_1m_before_after": [round(load, 2), round(os.getloadavg()[0], 2)], "texts": texts}


@contextlib.contextmanager
def locked(path: str | None) -> Iterator[None]:
    """An exclusive flock on ``path`` for the block (nothing when None)."""
    if not path:
        yield
        return
    import fcntl

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def measure_synthesis(llm, documents: list, ranker, n_seeds: int, out: Path,  # type: ignore[no-untyped-def]
                      kinds: tuple[str, ...] = ("hq",)) -> dict:
    """One synthesis job on ``n_seeds`` seeds (``SynthConfig.seed`` 0) of ``kinds``, its rows written to ``out``:
    kept rows per minute and the figures that say whether the rows are as good."""
    from reasonir.synth import SynthConfig, asynthesize

    config = SynthConfig()
    config.seeds.n = n_seeds
    config.kinds = kinds  # type: ignore[assignment]
    load = os.getloadavg()[0]
    calls, samples = getattr(llm, "calls", None), getattr(llm, "samples", None)
    report = asyncio.run(asynthesize(documents, llm, out, config, overwrite=True, ranker=ranker))
    grouping = ({"engine_calls": llm.calls - calls, "samples_per_call": round((llm.samples - samples)
                                                                              / max(llm.calls - calls, 1), 2)}
                if calls is not None and samples is not None else {})
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    usage = report.usage
    return {"seconds": round(report.seconds, 1), "rows": report.rows,
            "rows_per_minute": round(60 * report.rows / report.seconds, 2) if report.seconds else None,
            "kept": dict(report.kept), "dropped": dict(report.dropped), "candidates": dict(report.candidates),
            "seed_yield": report.rates()["seed_yield"].get("hq"), "seed_yield_by_kind": report.rates()["seed_yield"],
            "roundtrip_pass_rate": report.rates()["roundtrip_pass_rate"],
            "drop_shares": {k: round(v / (sum(report.candidates.values()) or 1), 3)
                            for k, v in sorted(report.dropped.items())},
            "requests": usage.get("requests"), "prompt_tokens": usage.get("prompt_tokens"),
            "completion_tokens": usage.get("completion_tokens"),
            "prompt_tokens_per_s": round((usage.get("prompt_tokens") or 0) / report.seconds, 1),
            "completion_tokens_per_s": round((usage.get("completion_tokens") or 0) / report.seconds, 1),
            "loadavg_1m_before_after": [round(load, 2), round(os.getloadavg()[0], 2)],
            "queries": [r.get("query", "")[:160] for r in rows], **grouping}


def order(names: list[str], rounds: int) -> list[tuple[int, str]]:
    """Round r runs the engines in order when r is even, reversed when odd: A B, B A, A B ..."""
    return [(r, name) for r in range(rounds) for name in (names if r % 2 == 0 else names[::-1])]


def summarise(runs: list[dict], names: list[str]) -> dict:
    summary: dict[str, dict] = {}
    metrics = {"requests": ("requests_per_min", "prompt_tokens_per_s", "completion_tokens_per_s"),
               "synthesis": ("rows_per_minute", "rows", "seed_yield", "roundtrip_pass_rate", "prompt_tokens_per_s",
                             "completion_tokens_per_s")}
    for name in names:
        mine = [r for r in runs if r["engine"] == name]
        entry: dict[str, dict] = {}
        for part, keys in metrics.items():
            entry[part] = {k: {"median": statistics.median(r[part][k] for r in mine),
                               "runs": [r[part][k] for r in mine]}
                           for k in keys if all(part in r and r[part].get(k) is not None for r in mine)}
        texts = [r["requests"]["texts"] for r in mine if "requests" in r]
        if len(texts) > 1:  # the same requests (same seeds) again: does the engine reproduce its candidates?
            same = sum(a == b for other in texts[1:] for ga, gb in zip(texts[0], other) for a, b in zip(ga, gb))
            total = sum(len(g) for other in texts[1:] for g in other)
            entry["requests"]["identical_candidates_across_runs"] = f"{same}/{total}"
        summary[name] = entry
    base = names[0]
    for name in names[1:]:
        for part, key in (("requests", "requests_per_min"), ("synthesis", "rows_per_minute")):
            pairs = [(a[part][key], b[part][key]) for a in runs for b in runs
                     if a["engine"] == base and b["engine"] == name and a["round"] == b["round"]
                     and part in a and part in b and a[part][key]]
            if pairs:
                summary[name][part][f"{key}_ratio_vs_{base}"] = {
                    "median_of_medians": round(statistics.median(b for _, b in pairs)
                                               / statistics.median(a for a, _ in pairs), 2),
                    "per_round": [round(b / a, 2) for a, b in pairs]}
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="llama-server,transformers",
                        help="comma-separated, the first is the reference: llama-server, llama-server-amx, "
                             "transformers, transformers-fp32, ct2, openvino, openvino-f32")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=10, help="synthesis: seed documents (--kinds hq)")
    parser.add_argument("--prompts", type=int, default=8, help="requests: documents (prompts)")
    parser.add_argument("--k", type=int, default=4, help="requests: sampled candidates per prompt")
    parser.add_argument("--chains", type=int, default=8, help="requests: prompts in flight (the synthesizer's 8)")
    parser.add_argument("--parts", default="requests,synthesis")
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    parser.add_argument("--amx-binary", default="/tmp/amx/bin/llama-server",
                        help="llama-server built with the native-amx profile (for llama-server-amx)")
    parser.add_argument("--lock", default=None, help="flock this file around each timed part")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--note", default=None, help="what the result file should say about this run (e.g. how the "
                                                     "instruction set was capped)")
    args = parser.parse_args()
    names = args.engines.split(",")
    known = variants(args)
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown engines {unknown}; known: {list(known)}")
    parts = set(args.parts.split(","))

    import torch
    import transformers

    try:
        import ctranslate2

        ct2_version: str | None = ctranslate2.__version__
    except ImportError:
        ct2_version = None
    try:
        import openvino_genai

        openvino_version: str | None = openvino_genai.__version__
    except ImportError:
        openvino_version = None

    from reasonir.data import load_corpus
    from reasonir.hardware import describe
    from reasonir.llm.native import BuildStamp, find_llama_server
    from reasonir.synth.ranker import build_ranker

    skipped: dict[str, str] = {}
    if "llama-server-amx" in names:
        stamp = BuildStamp.read(Path(args.amx_binary))
        if stamp is None or stamp.profile != "native-amx":
            skipped["llama-server-amx"] = (f"{args.amx_binary}: built as {stamp.profile if stamp else 'unknown'}, not "
                                           "native-amx (its smoke test crashed and it fell back): nothing to measure")
            names.remove("llama-server-amx")
            print(skipped["llama-server-amx"], file=sys.stderr)
    documents = load_corpus(args.corpus)
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    ranker = build_ranker(documents, "dense") if "synthesis" in parts else None  # once, before any timing
    ranker_s = time.perf_counter() - t0
    groups = question_groups(documents, args.prompts, args.k, 2048) if "requests" in parts else []
    runs: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for rnd, name in order(names, args.rounds):
            v = known[name]
            with started(v) as llm:
                startup_s = round(llm.startup_s, 1)  # type: ignore[attr-defined]
                run: dict = {"engine": name, "round": rnd, "startup_s": startup_s,  # in-process engines' precision
                             "precision": getattr(llm, "compute_type", getattr(llm, "precision", None))}
                if "requests" in parts:
                    with locked(args.lock):
                        run["requests"] = measure_requests(llm, groups, args.chains)
                if "synthesis" in parts:
                    with locked(args.lock):
                        run["synthesis"] = measure_synthesis(llm, documents, ranker, args.seeds,
                                                             Path(tmp) / f"{name}-{rnd}.jsonl")
            runs.append(run)
            line = [f"round {rnd} {name:>18}: start {run['startup_s']:5.1f} s"]
            if "requests" in run:
                q = run["requests"]
                line.append(f"requests {q['requests_per_min']:6.1f}/min, prompt {q['prompt_tokens_per_s']:7.1f} tok/s, "
                            f"generated {q['completion_tokens_per_s']:6.1f} tok/s, load {q['loadavg_1m_before_after']}")
            if "synthesis" in run:
                s = run["synthesis"]
                line.append(f"synthesis {s['rows']} rows in {s['seconds']} s = {s['rows_per_minute']} rows/min, seed "
                            f"yield {s['seed_yield']}, drops {s['drop_shares']}, load {s['loadavg_1m_before_after']}")
            print("; ".join(line), flush=True)
    summary = summarise(runs, names)
    headline = ("rows_per_minute", "requests_per_min")
    print(json.dumps({n: {p: {k: v for k, v in e.items() if "ratio" in k or k in headline} for p, e in s.items()}
                      for n, s in summary.items()}, indent=1))
    server = find_llama_server()
    write_results(args.out, {
        "benchmark": "llm_engines",
        "command": "python benchmarks/bench_llm_engines.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "out"),
        "date": started_at, "wall_s": round(time.perf_counter() - t0, 1),
        "cpu": describe(), "machine": {"platform": platform.platform(), "python": platform.python_version(),
                                       "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
                                       # what caps the instruction set kernels are chosen for, where set
                                       "isa_environment": {k: os.environ[k] for k in ISA_ENVIRONMENT
                                                           if k in os.environ}},
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "ctranslate2": ct2_version,
                     "openvino_genai": openvino_version,
                     "llama_server": BuildStamp.read(server).__dict__ if server and BuildStamp.read(server) else None,
                     "llama_server_amx": (BuildStamp.read(Path(args.amx_binary)).__dict__  # type: ignore[union-attr]
                                          if BuildStamp.read(Path(args.amx_binary)) else None)},
        "workload": {"requests": {"prompts": args.prompts, "k": args.k, "chains": args.chains,
                                  "what": "small-style HQ question prompts (synth.hq.question_request), temperature "
                                          "0.8, top_p 0.95, max_tokens 64, a seed per candidate"},
                     "synthesis": {"seeds": args.seeds, "kinds": ["hq"], "seed": 0, "corpus": args.corpus,
                                   "ranker": "dense, built once before timing", "ranker_build_s": round(ranker_s, 1)}},
        "order": [f"round {r}: {n}" for r, n in order(names, args.rounds)],
        "skipped": skipped,
        "note": "shared 2-core machine: other users' load falls on both sides (order alternates); tokens are the "
                "servers' counts (prompt tokens include those a prompt cache served)"
                + (f"; {args.note}" if args.note else ""),
        "summary": summary,
        "runs": [{k: ({kk: vv for kk, vv in v.items() if kk not in ("texts", "queries")} if isinstance(v, dict) else v)
                  for k, v in r.items()} for r in runs],
        "samples": {r["engine"]: {"candidates": r.get("requests", {}).get("texts", [[]])[0],
                                  "queries": r.get("synthesis", {}).get("queries", [])[:5]}
                    for r in runs if r["round"] == 0},
    })


if __name__ == "__main__":
    main()
