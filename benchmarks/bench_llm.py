"""LLM layer throughput: N requests with concurrency versus the same requests one at a time, and a cached rerun.

Two endpoints, side by side in one run:

* the embedded llama-cpp-python server with SmolLM2-135M (real generation on this machine's CPU cores). Its server
  handles one completion at a time (a global lock around the model), so concurrency cannot speed it up; the
  number shows the client adds no overhead there;
* a local endpoint that answers after a fixed latency (stands in for vLLM or a hosted API, which serve many
  requests at once): here the concurrency limit is what sets throughput.

The peer for "one at a time" is the official ``openai`` client in a plain loop. The rerun is reasonir again with
the response cache filled by the concurrent run.

    .venv/bin/python benchmarks/bench_llm.py [--n 16] [--max-tokens 16] [--concurrency 8]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

from reasonir.llm import ChatRequest, EmbeddedServer, Sampling
from reasonir.llm.testing import FaultPlan, FaultyEndpoint, llm_for

RESULTS = RESULTS_DIR / "llm.json"


def sequential_openai(base_url: str, model: str, requests: list[ChatRequest]) -> float:
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="no-key", max_retries=0)
    start = time.perf_counter()
    for r in requests:
        client.chat.completions.create(model=model, messages=[dict(m) for m in r.messages],
                                       max_tokens=r.sampling.max_tokens, temperature=r.sampling.temperature,
                                       seed=r.sampling.seed)
    client.close()
    return time.perf_counter() - start


def reasonir_run(base_url: str, requests: list[ChatRequest], concurrency: int, cache: Path | None) -> tuple[float, dict]:
    with llm_for(base_url, cache_path=cache, concurrency=concurrency) as llm:
        start = time.perf_counter()
        results = dict(llm.chat_many(requests))
        elapsed = time.perf_counter() - start
        assert len(results) == len(requests) and all(r.ok for r in results.values())
        return elapsed, llm.usage().as_dict()


def measure(name: str, base_url: str, model: str, requests: list[ChatRequest], concurrency: int,
            rounds: int) -> dict:
    """Alternate one-at-a-time and concurrent rounds (the machine is shared: the best of each is reported)."""
    sequential_openai(base_url, model, [ChatRequest.user("warm-up one", sampling=requests[0].sampling)])
    reasonir_run(base_url, [ChatRequest.user("warm-up two", sampling=requests[0].sampling)], concurrency, None)
    one_at_a_time, concurrent = [], []
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache.sqlite"
        for _ in range(rounds):
            one_at_a_time.append(sequential_openai(base_url, model, requests))
            concurrent.append(reasonir_run(base_url, requests, concurrency, None)[0])
        _, usage = reasonir_run(base_url, requests, concurrency, cache)  # fills the cache
        rerun, rerun_usage = reasonir_run(base_url, requests, concurrency, cache)
    best_seq, best_conc = min(one_at_a_time), min(concurrent)
    row = {"endpoint": name, "n": len(requests), "concurrency": concurrency, "rounds": rounds,
           "one_at_a_time_openai_s": [round(x, 3) for x in one_at_a_time],
           "concurrent_reasonir_s": [round(x, 3) for x in concurrent],
           "speedup_best_of_rounds": round(best_seq / best_conc, 2), "cached_rerun_s": round(rerun, 4),
           "cached_rerun_hits": rerun_usage["cache_hits"], "cached_rerun_tokens_paid":
               rerun_usage["prompt_tokens"] + rerun_usage["completion_tokens"],
           "completion_tokens_per_run": usage["completion_tokens"]}
    print(f"{name}: {len(requests)} requests one at a time (openai client) best {best_seq:.2f} s, reasonir "
          f"concurrency {concurrency} best {best_conc:.2f} s -> {row['speedup_best_of_rounds']}x; cached rerun "
          f"{rerun * 1000:.1f} ms ({rerun_usage['cache_hits']} hits, 0 tokens paid)")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--max-tokens", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per answer of the simulated endpoint")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sampling = Sampling(max_tokens=args.max_tokens)
    requests = [ChatRequest.user(f"Give one fact about topic number {i}.", sampling=sampling) for i in range(args.n)]
    rows = []
    with EmbeddedServer(engine="llama-cpp-python") as server:  # the one-at-a-time engine its note describes
        sequential_openai(server.base_url, server.alias, requests[:1])  # warm-up: first completion loads pages
        rows.append(measure("embedded SmolLM2-135M (llama-cpp-python server)", server.base_url, server.alias,
                            requests, args.concurrency, args.rounds))
    with FaultyEndpoint(FaultPlan(latency_s=args.latency)) as endpoint:
        rows.append(measure(f"simulated endpoint, {args.latency:g} s per answer", endpoint.base_url,
                            endpoint.model, requests, args.concurrency, args.rounds))
    out = {"benchmark": "llm", "command": "python benchmarks/bench_llm.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "note": "llama-cpp-python's server serialises completions (one model, one lock), so a speedup near 1x there "
                "is expected; endpoints that batch (vLLM, SGLang, hosted APIs) gain from concurrency as the "
                "simulated endpoint shows. Timings on a shared machine are noisy.",
        "results": rows}
    write_results(RESULTS, out)


if __name__ == "__main__":
    main()
