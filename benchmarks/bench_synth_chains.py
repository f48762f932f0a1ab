"""How many seed chains the synthesizer keeps in flight (``SynthConfig.max_chains``), measured on the demo's job.

The embedded OpenVINO engine decodes every running request in one batched step, so the seeds in flight decide how
full each step is. This runs the demo's synthesis (``reasonir demo``'s settings: 80 seeds of the
bundled SciFact sample, 4 HQ candidates, 6 VL seeds, the judge rows) with each ``--chains`` value, in the order
A B B A (``--rounds`` 2), every run in a fresh folder with no response cache, the LLM loaded per run as a job loads
it. Recorded per run: wall seconds of the synthesis (the LLM's start-up apart), kept rows, judge rows, seed yield,
the share of candidates each filter dropped, and the load average around it.

    .venv/bin/python benchmarks/bench_synth_chains.py [--chains 8,32] [--rounds 2] [--out synth_chains_amx.json]

Writes benchmarks/results/synth_chains_amx.json (or ``--out``, relative to benchmarks/results).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder


def one_run(chains: int, work: Path) -> dict:
    from reasonir.demo import DemoConfig
    from reasonir.data import load_corpus
    from reasonir.llm import load_llm
    from reasonir.synth import synthesize

    config = DemoConfig().adapt_config()
    config.llm.cache_path = ""  # no response cache: every request is answered
    synth = config.synth
    synth.seeds.n, synth.max_chains = config.seeds, chains
    documents = load_corpus(config.corpus)
    load_before = os.getloadavg()
    with load_llm(config.llm) as llm:
        start = time.perf_counter()
        report = synthesize(documents, llm, work / "rows.jsonl", synth, progress=False)
        seconds = time.perf_counter() - start
    data = report.as_dict()
    return {"chains": chains, "seconds": round(seconds, 1), "rows": report.rows,
            "judge_rows": sum(report.dev_rows.values()) + sum(report.judge_rows.values()),
            "rows_per_minute": round(60 * report.rows / seconds, 2), "seed_yield": data["seed_yield"],
            "dropped": data.get("dropped"), "usage": report.usage_text,
            "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", default="8,32")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default="synth_chains_amx.json")
    args = parser.parse_args()
    from reasonir.hardware import describe

    values = [int(c) for c in args.chains.split(",")]
    runs = []
    for rnd in range(args.rounds):
        for chains in values if rnd % 2 == 0 else values[::-1]:  # A B, B A, ...
            with tempfile.TemporaryDirectory(prefix="synth-chains-") as work:
                run = one_run(chains, Path(work)) | {"round": rnd}
            print(f"round {rnd} chains {chains}: {run['seconds']} s, {run['rows']} rows, "
                  f"{run['judge_rows']} judge rows, load {run['load_before'][0]} -> {run['load_after'][0]}", flush=True)
            runs.append(run)
    summary = {}
    for chains in values:
        mine = [r for r in runs if r["chains"] == chains]
        summary[str(chains)] = {"seconds": [r["seconds"] for r in mine],
                                "mean_seconds": round(statistics.fmean(r["seconds"] for r in mine), 1),
                                "rows": [r["rows"] for r in mine], "judge_rows": [r["judge_rows"] for r in mine]}
    base = summary[str(values[0])]["mean_seconds"]
    for chains in values:
        summary[str(chains)]["time_vs_first"] = round(summary[str(chains)]["mean_seconds"] / base, 3)
        print(f"chains {chains}: mean {summary[str(chains)]['mean_seconds']} s "
              f"({summary[str(chains)]['time_vs_first']}x the time of {values[0]} chains)")
    write_results(RESULTS_DIR / args.out, {
        "benchmark": "bench_synth_chains", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cpu": describe(),
        "command": "benchmarks/bench_synth_chains.py --chains " + args.chains + f" --rounds {args.rounds}",
        "summary": summary, "runs": runs})


if __name__ == "__main__":
    main()
