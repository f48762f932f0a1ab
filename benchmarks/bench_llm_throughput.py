"""Embedded-LLM throughput on a synthesis-like workload: llama-server's serving options side by side, in one run.

The workload is the synthesizer's: short plain-text few-shot prompts built from SciFact abstracts (the bundled
sample), k sampled candidates per prompt sent as independent requests with the same prompt (temperature 0.8,
top_p 0.95, a per-request seed), about 8 prompts ("seed chains") in flight from reasonir's asyncio client.

Variants (``--variants``; the first is the control):

* ``new``: llama.cpp's llama-server, 8 slots, requests pinned to slots by prompt (``reasonir.llm.slots``),
  client concurrency 32 (8 chains x k candidates), the weights re-encoded as Q8_0 (``reasonir.llm.native``): the
  embedded default;
* ``new-q4``: the same with the packaged Q4_1 weights as shipped;
* ``server-c8``: llama-server, 8 slots, no pinning, concurrency 8 (each candidate evaluates its prompt);
* ``server-c32``: the same with concurrency 32;
* ``new-c8``: llama-server with pinning, concurrency 8;
* ``new-p4``: llama-server with pinning, 4 slots, concurrency 16;
* ``transformers``: ``transformers serve`` with continuous batching (the ``transformers`` engine), concurrency 32.

The engines themselves, with kept synthesis rows per minute, are compared by ``bench_llm_engines.py``. Until
llama-cpp-python's server was removed as an engine, this benchmark's control was ``old`` (that server, concurrency
8; ``results/llm_throughput.json`` keeps that run).

Each run starts a fresh server (not timed) and sends one warm-up request. Runs alternate A B B A ... so that load
from other users of a shared machine falls on both sides; the JSON has every run, the load average around it, the
median ratio and the spread of the per-pair ratios. Tokens are the server's own counts (``usage``): prompt tokens
include those served from a prompt cache.

    .venv/bin/python benchmarks/bench_llm_throughput.py [--prompts 12] [--k 4] [--max-tokens 60] [--rounds 2]
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import statistics
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from _common import RESULTS_DIR, send_chains, write_results  # benchmarks/ is the script's folder

from reasonir.hardware import describe
from reasonir.llm import ChatRequest, OpenAICompatibleLLM, Sampling
from reasonir.llm.embedded import EmbeddedServer

RESULTS = RESULTS_DIR / "llm_throughput.json"
CORPUS = Path(__file__).resolve().parents[1] / "examples" / "scifact-sample" / "corpus.jsonl"
SYSTEM = ("You write a search question that the given passage answers, then one or two sentences on what a good "
          "answer must contain.")
SHOTS = [  # two few-shot turns, as a small-model prompt style does; answers of ~40-80 tokens, as the synthesizer's
    ("Passage: Regular aerobic exercise lowers resting blood pressure in adults with hypertension by about 5 to 7 "
     "mmHg, according to pooled randomized trials.",
     "Question: Does aerobic exercise reduce blood pressure in people with hypertension?\nA good answer cites pooled "
     "randomized trials and gives the size of the drop, about 5 to 7 mmHg in resting pressure."),
    ("Passage: Vitamin D supplementation did not reduce the incidence of invasive cancer or cardiovascular events "
     "in a large randomized trial of older adults.",
     "Question: Does taking vitamin D prevent cancer or heart disease in older adults?\nA good answer reports a large "
     "randomized trial that found no reduction in invasive cancer or cardiovascular events."),
]


@dataclass(frozen=True)
class Variant:
    engine: str
    concurrency: int
    parallel: int = 8
    pinned: bool = False
    servers: int = 1
    threads: int | None = None
    weights: str = "Q8_0"  # llama-server only: the packaged Q4_1 re-encoded as Q8_0, or "as-shipped"


VARIANTS = {
    "new": Variant("llama-server", 32, pinned=True),
    "server-c8": Variant("llama-server", 8),
    "server-c32": Variant("llama-server", 32),
    "new-c8": Variant("llama-server", 8, pinned=True),
    "new-p4": Variant("llama-server", 16, parallel=4, pinned=True),
    "new-q4": Variant("llama-server", 32, pinned=True, weights="as-shipped"),
    "transformers": Variant("transformers", 32),
}


def build_requests(n_prompts: int, k: int, max_tokens: int, abstract_chars: int) -> list[list[ChatRequest]]:
    """``n_prompts`` groups of ``k`` requests: same prompt, a different seed per candidate."""
    docs = []
    with open(CORPUS, encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            if len(doc["text"]) >= abstract_chars:
                docs.append(doc)
            if len(docs) == n_prompts:
                break
    groups = []
    for doc in docs:
        messages = [{"role": "system", "content": SYSTEM}]
        for passage, question in SHOTS:
            messages += [{"role": "user", "content": passage}, {"role": "assistant", "content": question}]
        messages.append({"role": "user", "content": f"Passage: {doc['title']}. {doc['text'][:abstract_chars]}"})
        groups.append([ChatRequest(tuple(messages), sampling=Sampling(  # type: ignore[arg-type]
            temperature=0.8, top_p=0.95, max_tokens=max_tokens, seed=zlib.crc32(f"{doc['_id']}:{j}".encode())),
            tag="bench.candidate") for j in range(k)])
    return groups


def server_metrics(server: EmbeddedServer) -> dict[str, float]:
    """llama-server's own counters (``--metrics``): prompt tokens it evaluated (cache hits excluded)."""
    if server.engine_used != "llama-server":
        return {}
    import httpx

    text = httpx.get(server.base_url.removesuffix("/v1") + "/metrics", timeout=10).text
    return {k.removeprefix("llamacpp:"): float(v) for k, v in (line.split() for line in text.splitlines()
                                                               if line and not line.startswith("#"))}


def run(name: str, groups: list[list[ChatRequest]], n_chains: int) -> dict:
    v = VARIANTS[name]
    servers = [EmbeddedServer(engine=v.engine, parallel=v.parallel, n_threads=v.threads,  # type: ignore[arg-type]
                              weights=v.weights)  # type: ignore[arg-type]
               for _ in range(v.servers)]
    try:
        for server in servers:
            server.start()
        # pinned: every candidate of every chain in flight, so each chain's prompt keeps a slot busy
        concurrency = max(v.concurrency, n_chains * len(groups[0])) if v.pinned else v.concurrency
        llms = [OpenAICompatibleLLM(s.base_url, s.model_id, concurrency=concurrency // v.servers,
                                    slots=s.slots if v.pinned else None) for s in servers]
        warm = ChatRequest.user("Say hello.", sampling=Sampling(max_tokens=4))
        for llm in llms:
            assert llm.chat(warm).ok
        before = [llm.usage().as_dict() for llm in llms]
        metrics_before = [server_metrics(s) for s in servers]
        load_before = os.getloadavg()
        start = time.perf_counter()
        texts = asyncio.run(send_chains(llms, groups, n_chains))
        elapsed = time.perf_counter() - start
        load_after = os.getloadavg()
        after = [llm.usage().as_dict() for llm in llms]
        metrics_after = [server_metrics(s) for s in servers]
    finally:
        for server in servers:
            server.stop()
    prompt = sum(a["prompt_tokens"] - b["prompt_tokens"] for a, b in zip(after, before))
    completion = sum(a["completion_tokens"] - b["completion_tokens"] for a, b in zip(after, before))
    n = sum(len(g) for g in groups)
    record = {"variant": name, **v.__dict__, "client_concurrency": concurrency, "seconds": round(elapsed, 2), "candidates": n,
              "candidates_per_min": round(60 * n / elapsed, 1), "prompt_tokens": prompt,
              "completion_tokens": completion, "prompt_tokens_per_s": round(prompt / elapsed, 1),
              "completion_tokens_per_s": round(completion / elapsed, 1),
              "loadavg_1m_before_after": [round(load_before[0], 2), round(load_after[0], 2)], "texts": texts}
    if metrics_after[0]:  # llama-server: what it really evaluated, and how many slots shared a decode on average
        record["prompt_tokens_evaluated"] = int(sum(a["prompt_tokens_total"] - b["prompt_tokens_total"]
                                                    for a, b in zip(metrics_after, metrics_before)))
        record["busy_slots_per_decode"] = round(metrics_after[0].get("n_busy_slots_per_decode", 0), 2)
    print(f"{name:>10}: {record['candidates_per_min']:7.1f} candidates/min, prompt {record['prompt_tokens_per_s']:7.1f}"
          f" tok/s, completion {record['completion_tokens_per_s']:6.1f} tok/s, {elapsed:6.1f} s, load "
          f"{load_before[0]:.2f}->{load_after[0]:.2f}", flush=True)
    return record


def order(variants: list[str], rounds: int) -> list[str]:
    """A B B A A B ... for two variants; for more, each round reverses the previous order."""
    out: list[str] = []
    for r in range(rounds):
        out += variants if r % 2 == 0 else variants[::-1]
    return out


def summarise(runs: list[dict], variants: list[str]) -> dict:
    by: dict[str, list[dict]] = {v: [r for r in runs if r["variant"] == v] for v in variants}
    summary: dict[str, dict] = {}
    for v, rs in by.items():
        summary[v] = {m: {"median": statistics.median(r[m] for r in rs), "min": min(r[m] for r in rs),
                          "max": max(r[m] for r in rs)}
                      for m in ("candidates_per_min", "prompt_tokens_per_s", "completion_tokens_per_s")}
        # the same requests (same seeds) in every run: is sampling reproducible under a different batch make-up?
        first = rs[0]["texts"]
        same = sum(a == b for r in rs[1:] for ga, gb in zip(first, r["texts"]) for a, b in zip(ga, gb))
        total = sum(len(g) for r in rs[1:] for g in r["texts"])
        summary[v]["identical_texts_across_runs"] = f"{same}/{total}" if total else "single run"
        distinct = [len(set(g)) for g in first]
        summary[v]["distinct_candidates_per_prompt_mean"] = round(statistics.mean(distinct), 2)
    base = variants[0]
    for v in variants[1:]:
        # pair each run with the control run next to it (A B B A: runs 0-1, 2-3 ...)
        pairs = [(a, b) for a, b in zip(by[base], by[v])]
        ratios = [b["candidates_per_min"] / a["candidates_per_min"] for a, b in pairs]
        summary[v]["ratio_vs_" + base] = {
            "candidates_per_min_median_ratio": round(summary[v]["candidates_per_min"]["median"]
                                                     / summary[base]["candidates_per_min"]["median"], 2),
            "per_pair": [round(x, 2) for x in ratios],
            "prompt_tokens_per_s": round(summary[v]["prompt_tokens_per_s"]["median"]
                                         / summary[base]["prompt_tokens_per_s"]["median"], 2),
            "completion_tokens_per_s": round(summary[v]["completion_tokens_per_s"]["median"]
                                             / summary[base]["completion_tokens_per_s"]["median"], 2)}
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=12)
    parser.add_argument("--k", type=int, default=4, help="candidates per prompt")
    parser.add_argument("--max-tokens", type=int, default=60)
    parser.add_argument("--chains", type=int, default=8, help="prompts in flight")
    parser.add_argument("--abstract-chars", type=int, default=1200, help="abstract length in the prompt")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each variant (alternating order)")
    parser.add_argument("--variants", default="new,new-q4", help=f"comma-separated, first is the control: {list(VARIANTS)}")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    variants = args.variants.split(",")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; known: {list(VARIANTS)}")
    groups = build_requests(args.prompts, args.k, args.max_tokens, args.abstract_chars)
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    runs = [run(v, groups, args.chains) for v in order(variants, args.rounds)]
    summary = summarise(runs, variants)
    print(json.dumps({v: {k: s[k] for k in s if k.startswith("ratio") or k.startswith("identical")}
                      for v, s in summary.items()}, indent=1))
    write_results(args.out, {
        "benchmark": "llm_throughput",
        "command": "python benchmarks/bench_llm_throughput.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "out"),
        "date": started, "cpu": describe(), "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                     "python": platform.python_version(), "loadavg_at_end": os.getloadavg()},
        "workload": {"prompts": len(groups), "k": args.k, "max_tokens": args.max_tokens, "chains": args.chains,
                     "temperature": 0.8, "top_p": 0.95},
        "note": "shared 2-core machine: other users' load falls on both sides (runs alternate); tokens are the "
                "server's counts, prompt tokens include those served from a prompt cache",
        "summary": summary,
        "runs": [{k: v for k, v in r.items() if k != "texts"} for r in runs],
        "sample_texts": {r["variant"]: r["texts"][0] for r in runs},
    })


if __name__ == "__main__":
    main()
