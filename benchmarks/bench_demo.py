"""How long ``reasonir demo`` (what ``make demo`` runs) takes on this machine, cold and warm, stage by stage.

* **cold**: an empty ``$REASONIR_CACHE`` but for the compiled llama-server that ``make install`` leaves there (a new
  user's first demo: the encoder backend probe, the embedded LLM's one-time F16 copy and every encoder conversion
  are timed with it);
* **warm**: the same cache again, a new work folder (a second demo: what is kept per machine is reused; the
  response cache is switched off, so the LLM answers every request again).

Each run is ``reasonir demo`` in a child process with the demo's defaults (80 seeds) unless arguments follow
``--``; the script reads the stage seconds, rows and the outcome from the run's ``report.json`` and records the
load average around it. Run it on a quiet machine (or under ``flock`` with whatever else times things there).

    .venv/bin/python benchmarks/bench_demo.py [--runs cold,warm] [--out demo_time.json] [-- --seeds 80]

Writes benchmarks/results/demo_time.json (or ``--out``).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

ROOT = Path(__file__).resolve().parents[1]
REASONIR = Path(sys.executable).with_name("reasonir")


def one_run(kind: str, cache: Path, work: Path, demo_args: list[str]) -> dict:
    env = dict(os.environ, REASONIR_CACHE=str(cache))
    out = work / f"demo-{kind}"
    load_before = os.getloadavg()
    start = time.perf_counter()
    done = subprocess.run([str(REASONIR), "demo", "--workdir", str(out), "--llm-no-cache", *demo_args], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{kind} demo failed ({done.returncode}): {done.stderr[-3000:]}")
    report = json.loads((out / "report.json").read_text())
    stages = {name: stage["seconds"] for name, stage in report["stages"].items()}
    synth = report["stages"]["synthesize"]["summary"]
    train = report["stages"]["train"]["summary"]
    evaluation = report["stages"].get("evaluate", {}).get("summary", {})
    return {"kind": kind, "seconds": round(seconds, 1), "stages": stages, "training_rows": synth.get("rows"),
            "judge_rows": synth.get("judge_rows"), "seeds": synth.get("seeds"), "chosen": train.get("chosen"), "reason": train.get("reason"),
            "base_ndcg@10": evaluation.get("base_ndcg@10"), "served_ndcg@10": evaluation.get("adapted_ndcg@10"),
            "load_average": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
            "stdout_tail": done.stdout[-1500:]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", default="cold,warm", help="cold and/or warm, in this order")
    p.add_argument("--out", default="demo_time.json", help="file name under benchmarks/results")
    p.add_argument("demo_args", nargs="*", help="arguments for reasonir demo (after --)")
    args = p.parse_args()
    from reasonir.hardware import describe
    from reasonir.paths import cache_root

    work = Path(tempfile.mkdtemp(prefix="bench-demo-"))
    cache = work / "cache"
    cache.mkdir()
    native = cache_root() / "native"
    if native.is_dir():  # what `make install` leaves: llama-server, compiled for this CPU
        shutil.copytree(native, cache / "native")
    runs = []
    for kind in args.runs.split(","):
        run = one_run(kind, cache, work, args.demo_args)
        print(f"{kind}: {run['seconds']:.0f} s {run['stages']}, {run['training_rows']} training rows, "
              f"{run['judge_rows']} judge rows, handed back {run['chosen']}, load {run['load_average']}", flush=True)
        runs.append(run)
    record = {"benchmark": "bench_demo", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "cpu": describe(), "demo_args": args.demo_args, "target_seconds": 300, "runs": runs,
              "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])}
    write_results(RESULTS_DIR / args.out, record)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
