"""What every benchmark shares: where results go and how they are written (atomically, never half a file)."""
from __future__ import annotations

import json
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
