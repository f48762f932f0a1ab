"""Load test of `reasonir serve`: 50 concurrent clients for 20 s against a dense index of SciFact, on loopback,
with the two batching rules side by side.

Measures, on the full SciFact corpus (5,183 abstracts; ../shared/data/scifact or SCIFACT=PATH) with
all-MiniLM-L6-v2 and k=10, queries cycling through SciFact's 300 test claims:
  1. the server under 50 concurrent httpx clients with each batching rule (serve/batching.py): ``bounded`` (the
     default: a batch runs when full, at the size calibrated at start, or when its oldest query has waited its
     window) and ``greedy`` (the rule before: everything queued at once, up to 64), in alternating order over
     ``--rounds`` rounds (bounded greedy, greedy bounded, ...): requests/s, p50/p99 latency, errors, mean batch
     size, and each round's ratio bounded/greedy; after each loaded phase, one client at a time against the same
     server (what the bounded rule's wait costs a lone query);
  2. the server with micro-batching off (--max-batch 1), as the control for 1;
  3. the Python API directly in this process (DenseRetriever.search, no HTTP), one query per call and 50 per call.
The HTTP overhead is reported as ratios: server latency over direct latency, one query at a time (1 vs 3); and
direct throughput over server throughput (3, 50 per call, vs 1). The load generator runs on the same 2 cores as the
server, so it takes CPU from it; the load average before and after is recorded, as other engineers share the machine.

The index is built once and kept in $REASONIR_CACHE/bench/scifact-minilm-dense (default ~/.cache/reasonir/...).

Run:  .venv/bin/python benchmarks/bench_serve.py   (about 5 minutes, plus 2-6 minutes to build the index once)
Writes benchmarks/results/serve_batching.json (serve_batching_BACKEND.json with --encoder-backend).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

from reasonir.hardware import cpu_flags
from reasonir.serve.batching import BATCHING_RULES as RULES  # bounded (the default), greedy

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = Path(os.environ.get("SCIFACT", ROOT.parent / "shared" / "data" / "scifact"))
WARM_UP_S = 5.0  # seconds of calls before the clock starts, for the server and for direct calls alike
RUN_CLI = "import sys; from reasonir.cli import main; sys.exit(main(sys.argv[1:]))"


def index_dir() -> Path:
    root = Path(os.environ.get("REASONIR_CACHE") or Path.home() / ".cache" / "reasonir").expanduser()
    return root / "bench" / "scifact-minilm-dense"


def build_index(folder: Path) -> dict:
    from reasonir.retrieve import is_index, make_retriever

    if is_index(folder):
        return {"built": False}
    from reasonir.data import load_corpus

    start = time.perf_counter()
    docs = load_corpus(SCIFACT)
    make_retriever("dense", show_progress=True).index(docs).save(folder)
    return {"built": True, "seconds": round(time.perf_counter() - start, 1)}


def load_queries() -> list[str]:
    with open(SCIFACT / "queries.jsonl", encoding="utf-8") as fh:
        texts = {json.loads(line)["_id"]: json.loads(line)["text"] for line in fh}
    test_ids = [line.split("\t")[0] for line in (SCIFACT / "qrels" / "test.tsv").read_text().splitlines()[1:]]
    return [texts[q] for q in dict.fromkeys(test_ids)]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def summary(latencies: list[float], seconds: float, errors: int, batches: list[int] | None = None) -> dict:
    out = {"requests": len(latencies), "errors": errors, "seconds": round(seconds, 2),
           "requests_per_s": round(len(latencies) / seconds, 1),
           "latency_ms": {"mean": round(1000 * statistics.fmean(latencies), 1),
                          "p50": round(1000 * percentile(latencies, 50), 1),
                          "p99": round(1000 * percentile(latencies, 99), 1),
                          "max": round(1000 * max(latencies), 1)}}
    if batches:
        out["mean_batch_size"] = round(statistics.fmean(batches), 1)
    return out


class Server:
    """`reasonir serve` in a child process on a loopback port, stopped on exit."""

    def __init__(self, index: Path, port: int, *args: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        env.pop("REASONIR_API_KEY", None)
        self.proc = subprocess.Popen([sys.executable, "-c", RUN_CLI, "serve", str(index), "--port", str(port),
                                      "--log-level", "warning", *args], env=env)

    def __enter__(self) -> Server:
        import httpx

        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"reasonir serve exited with {self.proc.returncode}")
            try:
                if httpx.get(self.base + "/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.5)
        raise RuntimeError("the server did not come up in 180 s")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


async def load(base: str, queries: list[str], clients: int, seconds: float, k: int) -> dict:
    """``clients`` concurrent loops, each sending its next query as soon as the previous one is answered."""
    import httpx

    latencies: list[float] = []
    batches: list[int] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        # warm-up: every connection opened and every code path run once before the clock starts
        warm_until = time.perf_counter() + WARM_UP_S
        while time.perf_counter() < warm_until:
            await asyncio.gather(*(client.post("/search", json={"query": q, "k": k}) for q in queries[:clients]))
        end = time.perf_counter() + seconds

        async def one_client(offset: int) -> None:
            i = offset
            while time.perf_counter() < end:
                query = queries[i % len(queries)]
                i += clients
                start = time.perf_counter()
                try:
                    r = await client.post("/search", json={"query": query, "k": k})
                    ok = r.status_code == 200 and len(r.json()["results"]) == k
                except httpx.HTTPError as exc:
                    ok, r = False, exc
                latency = time.perf_counter() - start
                if ok:
                    latencies.append(latency)
                    batches.append(int(r.json()["timings_ms"]["batch_size"]))
                elif isinstance(r, Exception):  # an exception's str() can be empty: name its type too
                    errors.append(f"{type(r).__name__}: {r}")
                else:
                    errors.append(f"HTTP {r.status_code}: {r.text[:200]}")

        begin = time.perf_counter()
        await asyncio.gather(*(one_client(c) for c in range(clients)))
        elapsed = time.perf_counter() - begin
    out = summary(latencies, elapsed, len(errors), batches)
    out["error_examples"] = sorted(set(errors))[:5]
    out["clients"] = clients
    return out


def direct(index: Path, queries: list[str], per_call: int, seconds: float, k: int,
           encoder_backend: str | None = None) -> dict:
    """The Python API in this process: DenseRetriever.search on ``per_call`` queries at a time, for ``seconds``."""
    from reasonir.data import Query
    from reasonir.retrieve import load_index

    retriever = load_index(index, show_progress=False,
                           **({"encoder_backend": encoder_backend} if encoder_backend else {}))
    warm_until, w = time.perf_counter() + WARM_UP_S, 0
    while w < 3 or time.perf_counter() < warm_until:  # the encoder's first calls are slow, as in the server's warm-up
        retriever.search([Query(str(j), queries[(w * per_call + j) % len(queries)]) for j in range(per_call)], k=k)
        w += 1
    latencies, i = [], 0
    begin = time.perf_counter()
    while time.perf_counter() - begin < seconds:
        batch = [Query(str(j), queries[(i + j) % len(queries)]) for j in range(per_call)]
        i += per_call
        start = time.perf_counter()
        run = retriever.search(batch, k=k)
        latency = time.perf_counter() - start
        assert all(len(run[q.id]) == k for q in batch)
        latencies.extend([latency] * per_call)  # every query of a call waits for the whole call
    out = summary(latencies, time.perf_counter() - begin, 0)
    out["queries_per_call"] = per_call
    return out




def rule_order(rounds: int) -> list[str]:
    """Which rule's server runs when: A B, B A, A B, ... (a drift in the machine's load then hits both alike).

    >>> rule_order(2)
    ['bounded', 'greedy', 'greedy', 'bounded']
    """
    return [rule for r in range(rounds) for rule in (RULES if r % 2 == 0 else RULES[::-1])]


def at(record: dict, *path: str) -> Any:
    """``record[path[0]][path[1]]...``

    >>> at({"a": {"b": 3}}, "a", "b")
    3
    """
    for part in path:
        record = record[part]
    return record


def spread(values: list[float]) -> dict:
    return {"values": values, "median": round(statistics.median(values), 3), "min": min(values), "max": max(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the two rules, alternating order (default 2)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch/FAISS threads, the same for the server and the direct calls (default 1: on a "
                             "shared 2-core machine 2 threads were several times slower)")
    parser.add_argument("--encoder-backend", default=None,
                        help="query encoder runtime for the server and the direct calls (e.g. onnx-int8; default: "
                             "the index's)")
    parser.add_argument("--index", type=Path, default=None,
                        help="a dense index to use instead of building SciFact's (for a quick trial run)")
    args = parser.parse_args()
    if args.clients < 1 or not 1 <= args.seconds <= 120 or not 1 <= args.rounds <= 4:
        parser.error("--clients must be at least 1, --seconds between 1 and 120, --rounds between 1 and 4")
    load_start = os.getloadavg()
    folder = args.index or index_dir()
    index_info = {"built": False} if args.index else build_index(folder)
    queries = load_queries()
    threads = ("--threads", str(args.threads),
               *(("--encoder-backend", args.encoder_backend) if args.encoder_backend else ()))
    runs: list[dict] = []
    for rule in rule_order(args.rounds):
        with Server(folder, free_port(), "--batching", rule, *threads) as server:
            import httpx

            loaded = asyncio.run(load(server.base, queries, args.clients, args.seconds, args.k))
            alone = asyncio.run(load(server.base, queries, 1, args.seconds / 4, args.k))
            runs.append({"rule": rule, "batching": httpx.get(server.base + "/health").json()["batching"],
                         "loaded": loaded, "one_client": alone, "loadavg_after": round(os.getloadavg()[0], 2)})
        print(f"{rule}: {loaded['requests_per_s']} req/s, p99 {loaded['latency_ms']['p99']} ms, "
              f"{loaded['errors']} errors; one client p50 {alone['latency_ms']['p50']} ms", file=sys.stderr)
    phases: dict[str, dict] = {}
    with Server(folder, free_port(), "--max-batch", "1", *threads) as server:
        phases["server_unbatched"] = asyncio.run(load(server.base, queries, args.clients, args.seconds, args.k))
    from reasonir.serve.service import set_threads

    set_threads(args.threads)
    phases["direct_one_per_call"] = direct(folder, queries, 1, args.seconds / 2, args.k, args.encoder_backend)
    phases["direct_50_per_call"] = direct(folder, queries, 50, args.seconds / 2, args.k, args.encoder_backend)

    by_rule = {rule: [r for r in runs if r["rule"] == rule] for rule in RULES}
    pairs = list(zip(by_rule["bounded"], by_rule["greedy"]))  # round r's run of each rule

    def median_of(rule: str, *path: str) -> float:
        return statistics.median(at(run, *path) for run in by_rule[rule])

    def ratio(*path: str) -> dict:
        """bounded over greedy for the figure at ``path``, one value per round."""
        return spread([round(at(b, *path) / at(g, *path), 3) for b, g in pairs])

    rules = {rule: {"requests_per_s": median_of(rule, "loaded", "requests_per_s"),
                    "p50_ms": median_of(rule, "loaded", "latency_ms", "p50"),
                    "p99_ms": median_of(rule, "loaded", "latency_ms", "p99"),
                    "errors": sum(r["loaded"]["errors"] for r in by_rule[rule]),
                    "mean_batch_size": median_of(rule, "loaded", "mean_batch_size"),
                    "one_client_p50_ms": median_of(rule, "one_client", "latency_ms", "p50")} for rule in RULES}
    ratios = {"throughput_bounded_over_greedy": ratio("loaded", "requests_per_s"),
              "p99_bounded_over_greedy": ratio("loaded", "latency_ms", "p99"),
              "one_client_p50_bounded_over_greedy": ratio("one_client", "latency_ms", "p50")}
    bounded = rules["bounded"]
    one = rules["bounded"]["one_client_p50_ms"] / phases["direct_one_per_call"]["latency_ms"]["p50"]
    record = {
        "benchmark": "serve_batching",
        "command": f"python benchmarks/bench_serve.py --clients {args.clients} --seconds {args.seconds:g} "
                   f"--rounds {args.rounds} --k {args.k} --threads {args.threads}"
                   + (f" --encoder-backend {args.encoder_backend}" if args.encoder_backend else ""),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "cpu_flags": sorted(cpu_flags() & {"avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16"}),
                    "loadavg_at_start": [round(x, 2) for x in load_start],
                    "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
        "index": {"path": str(folder), "documents": len(json.loads((folder / "doc_ids.json").read_text())),
                  "model": json.loads((folder / "reasonir-index.json").read_text())["model"], **index_info},
        "targets": {"errors": 0, "p99_ms_below": 1000, "requests_per_s_at_least": 143.4,
                    "p99_met": bounded["errors"] == 0 and bounded["p99_ms"] < 1000,
                    "throughput_met": bounded["requests_per_s"] >= 143.4,
                    "not_worse_than_greedy_here": ratios["throughput_bounded_over_greedy"]["median"] >= 1.0},
        "rules": rules,
        "ratios": ratios,
        "http_overhead": {
            "latency_ratio_one_at_a_time": round(one, 2),
            "throughput_ratio_direct_batched_over_server": round(
                phases["direct_50_per_call"]["requests_per_s"] / bounded["requests_per_s"], 2),
            "micro_batching_speedup": round(
                bounded["requests_per_s"] / phases["server_unbatched"]["requests_per_s"], 2),
        },
        "runs": runs,
        "phases": phases,
        "note": "Both rules run in this one invocation, one server each, in alternating order; the ratios pair each "
                "round's two runs. The load generator and server share the machine's cores (and other engineers' "
                "jobs: see loadavg); latency includes the client's own event loop. Direct calls run in this process "
                "with no HTTP. The 143.4 req/s target is the greedy rule's figure on the AMX Xeon of 2026-12-02 "
                "(results/serve.json): compare it only on that CPU kind.",
        "encoder_backend": args.encoder_backend or "the default (auto)",
    }
    name = f"serve_batching_{args.encoder_backend}.json" if args.encoder_backend else "serve_batching.json"
    write_results(RESULTS_DIR / name, record)
    print(json.dumps({"targets": record["targets"], "rules": rules, "ratios": ratios,
                      **{name: {key: p[key] for key in ("requests_per_s", "latency_ms", "errors")}
                         for name, p in phases.items()}}, indent=1))


if __name__ == "__main__":
    main()
