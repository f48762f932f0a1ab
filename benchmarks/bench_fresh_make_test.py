"""How long a fresh clone's ``make test`` (the README's test command) takes on this machine: install, then tests.

A new clone of ``--commit`` (default HEAD) in a temporary folder, with ``../shared`` beside it pointing at this
checkout's (the tests read the data sets there), an empty ``$REASONIR_CACHE`` and no pip cache: ``make install``
then ``make test``, each timed, under ``--durations`` so the slowest tests are kept with the figure. What the machine
already holds is recorded (chromium: ``make install`` installs it where it is missing; the time is counted).
``$REASONIR_TEST_ENGINES`` is passed through as it is (unset: the tests of the engines ``auto`` does not run here
skip, as for a user; CI sets ``all``). Run it on a quiet machine.

    .venv/bin/python benchmarks/bench_fresh_make_test.py [--commit REV] [--out fresh_make_test.json]

Writes benchmarks/results/fresh_make_test.json (or ``--out``); the target is 10 minutes in all (issue 28).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

ROOT = Path(__file__).resolve().parents[1]
SLOWEST = 15  # tests kept in the record


def timed(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> tuple[int, float]:
    start = time.perf_counter()
    with open(log, "w") as out:
        code = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
    return code, round(time.perf_counter() - start, 1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--commit", default="HEAD")
    p.add_argument("--out", default="fresh_make_test.json", help="file name under benchmarks/results")
    args = p.parse_args()
    from reasonir.hardware import describe

    commit = subprocess.run(["git", "rev-parse", args.commit], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="bench-fresh-"))
    (work / "shared").symlink_to((ROOT.parent / "shared").resolve())
    clone = work / "reasonir"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "checkout", "-q", commit], cwd=clone, check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(REASONIR_CACHE=str(work / "cache"), PIP_NO_CACHE_DIR="1", PYTEST_ADDOPTS=f"--durations={SLOWEST}")
    chromium_before = Path("/usr/bin/chromium").exists()
    load_before = os.getloadavg()
    install_code, install_s = timed(["make", "install"], clone, env, work / "install.log")
    if install_code != 0:
        raise SystemExit(f"make install failed ({install_code}): see {work / 'install.log'}")
    test_code, test_s = timed(["make", "test"], clone, env, work / "test.log")
    log = (work / "test.log").read_text()
    summary = next((line.strip("= ") for line in reversed(log.splitlines()) if " in " in line and "passed" in line),
                   "")
    slowest = [line.strip() for line in log.splitlines() if re.match(r"\s*[\d.]+s (call|setup|teardown) ", line)]
    record = {"benchmark": "bench_fresh_make_test", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "commit": commit, "cpu": describe(), "chromium_installed_before": chromium_before,
              "test_engines": os.environ.get("REASONIR_TEST_ENGINES", ""),
              "install_seconds": install_s, "test_seconds": test_s, "total_seconds": round(install_s + test_s, 1),
              "target_seconds": 600, "tests_exit_code": test_code, "pytest_summary": summary,
              "slowest": slowest[:SLOWEST], "load_average": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
              "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])}
    print(f"install {install_s:.0f} s, tests {test_s:.0f} s (exit {test_code}): {summary}; "
          f"{record['total_seconds'] / 60:.1f} min in all", flush=True)
    write_results(RESULTS_DIR / args.out, record)
    shutil.rmtree(work, ignore_errors=True)
    return test_code


if __name__ == "__main__":
    sys.exit(main())
