"""`reasonir serve` under 50 clients driven by wrk (C) instead of Python: the server's own tail, both batching rules.

Why a second load generator: ``bench_serve.py`` drives the server with 50 httpx clients in one Python process on
the same 2 cores, and on the AMX Xeon (2026-12-06) its p99 (2.2-2.9 s) was four times what the server itself
reported for the same requests (``timings_ms.total``: p99 0.69 s): the clients' own event loop, starved of CPU,
was most of the tail. wrk sends the same requests from a small C program, so its latencies are the server's and
the loopback's. SciFact's 300 test claims cycle as in ``bench_serve.py``, k=10, one search thread, the index
that ``bench_serve.py`` builds (run that first). Rules alternate: bounded greedy / greedy bounded ...

Needs wrk (``apt-get install wrk``).

Run:  .venv/bin/python benchmarks/bench_serve_wrk.py [--rounds 2] [--seconds 20] [--out serve_wrk.json]
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder
from bench_serve import RULES, Server, index_dir, load_queries

from reasonir.hardware import cpu_flags
from reasonir.retrieve import is_index

REQUEST_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "/search", {["Content-Type"]="application/json"}, bodies[(counter % #bodies) + 1])
end
"""
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def lua_requests(queries: list[str], k: int) -> str:
    """A wrk script that cycles through ``queries`` as /search bodies."""
    bodies = [json.dumps({"query": q, "k": k}) for q in queries]
    if any("]==]" in b for b in bodies):
        raise ValueError("a query contains ]==], which ends a Lua long string")
    return "bodies = {\n" + ",\n".join(f"[==[{b}]==]" for b in bodies) + "\n}\n" + REQUEST_SCRIPT


def parse_wrk(text: str) -> dict:
    """Requests/s, the latency percentiles (ms) and the errors from ``wrk --latency``'s report."""
    def ms(value: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
        return round(float(number) * _UNITS[unit], 2)

    out: dict = {"requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))}  # type: ignore
    out["requests"] = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    out["latency_ms"] = {f"p{p}": ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", text, re.M)}
    out["latency_ms"]["max"] = ms(re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", text).group(1))  # type: ignore
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["errors"] = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, socket.groups())) if socket else 0)
    return out


def wrk(base: str, script: Path, clients: int, seconds: float) -> dict:
    subprocess.run(["wrk", "-t1", f"-c{clients}", "-d5s", "-s", str(script), base], check=True,
                   capture_output=True)  # warm-up: every connection opened, every code path run once
    load_before = Path("/proc/loadavg").read_text().split()[0]
    done = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{seconds:g}s", "--latency", "-s", str(script), base],
                          check=True, capture_output=True, text=True)
    return {**parse_wrk(done.stdout), "clients": clients, "loadavg_before": float(load_before),
            "loadavg_after": float(Path("/proc/loadavg").read_text().split()[0])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--out", default="serve_wrk.json")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    index = index_dir()
    if not is_index(index):
        raise SystemExit(f"no index in {index}: run benchmarks/bench_serve.py once to build it")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "search.lua"
        script.write_text(lua_requests(load_queries(), args.k), encoding="utf-8")
        port = 8870
        for rnd in range(args.rounds):
            for rule in (RULES if rnd % 2 == 0 else RULES[::-1]):
                port += 1
                with Server(index, port, "--threads", "1", "--batching", rule) as server:
                    result = wrk(server.base, script, args.clients, args.seconds)
                runs.append({"round": rnd, "rule": rule, **result})
                print(json.dumps(runs[-1]), flush=True)
    by_rule = {rule: [r for r in runs if r["rule"] == rule] for rule in RULES}
    summary = {rule: {"requests_per_s": statistics.median(r["requests_per_s"] for r in rs),
                      "p99_ms": statistics.median(r["latency_ms"]["p99"] for r in rs),
                      "errors": sum(r["errors"] for r in rs)} for rule, rs in by_rule.items()}
    ratios = {"throughput_bounded_over_greedy": [round(b["requests_per_s"] / g["requests_per_s"], 3)
                                                 for b, g in zip(by_rule["bounded"], by_rule["greedy"])],
              "p99_bounded_over_greedy": [round(b["latency_ms"]["p99"] / g["latency_ms"]["p99"], 3)
                                          for b, g in zip(by_rule["bounded"], by_rule["greedy"])]}
    write_results(RESULTS_DIR / args.out, {
        "benchmark": "serve_wrk", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python benchmarks/bench_serve_wrk.py " + " ".join(
            f"--{k} {v}" for k, v in vars(args).items()),
        "cpu_flags": sorted(f for f in cpu_flags() if f.startswith(("avx512_bf16", "amx", "avx512_vnni"))),
        "summary": summary, "ratios": ratios, "runs": runs,
        "targets": {"p99_ms_under": 1000, "requests_per_s_at_least": 143, "errors": 0}})
    print(json.dumps({"summary": summary, "ratios": ratios}, indent=1))


if __name__ == "__main__":
    main()
