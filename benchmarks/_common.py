"""What every benchmark shares: where results go and how they are written (atomically, never half a file)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from reasonir.data.atomic import atomic_open

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def write_results(path: str | Path, record: dict) -> Path:
    """Replace ``path`` (a JSON file under ``RESULTS_DIR``) with ``record``."""
    path = Path(path)
    with atomic_open(path, overwrite=True) as fh:
        fh.write(json.dumps(record, indent=2) + "\n")
    print(f"wrote {path}")
    return path


def run_child(code: str, *args: str, timeout: float = 3600) -> dict:
    """Run ``python -c code args...`` in a fresh process (a clean peak-memory reading) and parse the JSON object
    on its last stdout line."""
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])
