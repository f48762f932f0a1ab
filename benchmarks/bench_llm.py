"""LLM layer throughput: N requests with concurrency versus the same requests one at a time, and a cached rerun.

Three endpoints, side by side in one run:

* the embedded SmolLM2-135M behind llama.cpp's llama-server (8 slots decoded in one batch);
* the same model behind ``transformers serve`` with continuous batching (the ``transformers`` engine, bf16 where
  the CPU has bf16 units);
* a local endpoint that answers after a fixed latency (stands in for vLLM or a hosted API, which serve many
  requests at once): here the concurrency limit is what sets throughput.

Both sides use the same client (reasonir's ``chat_many``, no response cache), concurrency 1 against
``--concurrency``; rounds alternate which side runs first (A B, B A, ...) so that neither always meets a warmer or
quieter machine. The rerun is reasonir again with the response cache filled by a concurrent run.

(Until llama-cpp-python's server was removed as an engine, it was the second endpoint: it answered one request at
a time, 1.01x with concurrency; see the README's history rows.)

    .venv/bin/python benchmarks/bench_llm.py [--n 12] [--max-tokens 12] [--concurrency 8] [--rounds 4]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

from reasonir.hardware import describe
from reasonir.llm import ChatRequest, EmbeddedServer, Sampling

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test endpoints: a fixed-latency server
from endpoints import FaultPlan, FaultyEndpoint, llm_for  # noqa: E402

RESULTS = RESULTS_DIR / "llm.json"


def reasonir_run(base_url: str, requests: list[ChatRequest], concurrency: int, cache: Path | None) -> tuple[float, dict]:
    with llm_for(base_url, cache_path=cache, concurrency=concurrency) as llm:
        start = time.perf_counter()
        results = dict(llm.chat_many(requests))
        elapsed = time.perf_counter() - start
        assert len(results) == len(requests) and all(r.ok for r in results.values())
        return elapsed, llm.usage().as_dict()


def measure(name: str, base_url: str, requests: list[ChatRequest], concurrency: int, rounds: int) -> dict:
    """Rounds of one-at-a-time and concurrent runs, the first side alternating; median and spread reported."""
    reasonir_run(base_url, [ChatRequest.user("warm-up", sampling=requests[0].sampling)], 1, None)
    one_at_a_time, concurrent = [], []
    for i in range(rounds):
        order = (1, concurrency) if i % 2 == 0 else (concurrency, 1)
        for c in order:
            (one_at_a_time if c == 1 else concurrent).append(reasonir_run(base_url, requests, c, None)[0])
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache.sqlite"
        _, usage = reasonir_run(base_url, requests, concurrency, cache)  # fills the cache
        rerun, rerun_usage = reasonir_run(base_url, requests, concurrency, cache)
    med_seq, med_conc = statistics.median(one_at_a_time), statistics.median(concurrent)
    pairs = [s / c for s, c in zip(one_at_a_time, concurrent)]
    row = {"endpoint": name, "n": len(requests), "concurrency": concurrency, "rounds": rounds,
           "order": "A B, B A, ... (A = one at a time)", "client": "reasonir chat_many on both sides, no cache",
           "one_at_a_time_s": [round(x, 3) for x in one_at_a_time],
           "concurrent_s": [round(x, 3) for x in concurrent],
           "speedup_median": round(med_seq / med_conc, 2),
           "speedup_per_round": [round(x, 2) for x in pairs],
           "cached_rerun_s": round(rerun, 4), "cached_rerun_hits": rerun_usage["cache_hits"],
           "cached_rerun_tokens_paid": rerun_usage["prompt_tokens"] + rerun_usage["completion_tokens"],
           "completion_tokens_per_run": usage["completion_tokens"]}
    print(f"{name}: {len(requests)} requests, one at a time median {med_seq:.2f} s, concurrency {concurrency} median "
          f"{med_conc:.2f} s -> {row['speedup_median']}x (rounds {min(pairs):.2f}-{max(pairs):.2f}x); cached rerun "
          f"{rerun * 1000:.1f} ms ({rerun_usage['cache_hits']} hits, 0 tokens paid)")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--max-tokens", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per answer of the simulated endpoint")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    sampling = Sampling(max_tokens=args.max_tokens)
    requests = [ChatRequest.user(f"Give one fact about topic number {i}.", sampling=sampling) for i in range(args.n)]
    rows = []
    for engine in ("llama-server", "transformers"):
        with EmbeddedServer(engine=engine) as server:
            rows.append(measure(f"embedded SmolLM2-135M ({engine})", server.base_url, requests, args.concurrency,
                                args.rounds))
    with FaultyEndpoint(FaultPlan(latency_s=args.latency)) as endpoint:
        rows.append(measure(f"simulated endpoint, {args.latency:g} s per answer", endpoint.base_url, requests,
                            args.concurrency, args.rounds))
    out = {"benchmark": "llm", "command": "python benchmarks/bench_llm.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "out"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "loadavg_end": list(os.getloadavg()),
        "cpu": describe(),
        "note": "llama-server decodes its slots in one batch and transformers serve batches continuously; endpoints "
                "that batch (vLLM, SGLang, hosted APIs) gain from concurrency as the simulated endpoint shows. "
                "Timings on a shared machine are noisy: see speedup_per_round.",
        "results": rows}
    write_results(args.out, out)


if __name__ == "__main__":
    main()
