"""What every benchmark shares: where results go and how they are written (atomically, never half a file)."""
from __future__ import annotations

import asyncio
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


def resumable(out: Path, work: Path | None, prefix: str) -> tuple[Path, Path, list[dict]]:
    """A long benchmark's work folder (a fresh temporary one unless given), its run log beside ``out``
    (``<out>.runs.jsonl``, one JSON line per finished run) and the runs already in it, so a rerun continues."""
    import tempfile

    work = work or Path(tempfile.mkdtemp(prefix=prefix))
    work.mkdir(parents=True, exist_ok=True)
    log_path = out.with_suffix(".runs.jsonl")
    done = [json.loads(line) for line in log_path.open()] if log_path.exists() else []
    return work, log_path, done


def run_child(code: str, *args: str, timeout: float = 3600) -> dict:
    """Run ``python -c code args...`` in a fresh process (a clean peak-memory reading) and parse the JSON object
    on its last stdout line."""
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


async def send_chains(llms: list, groups: list[list], n_chains: int) -> list[list[str]]:
    """Up to ``n_chains`` prompts in flight, each sending its k candidate requests at once (as the synthesizer does);
    prompt ``i`` goes to ``llms[i % len(llms)]`` (several servers: a prompt's candidates all go to the same one).
    Raises on the first failed request; closes every client's loop at the end."""
    gate = asyncio.Semaphore(n_chains)

    async def one(i: int, group: list) -> list[str]:
        llm = llms[i % len(llms)]
        async with gate:
            results = await asyncio.gather(*(llm.achat(r) for r in group))
        bad = [r.error for r in results if not r.ok]
        if bad:
            raise RuntimeError(f"a request failed: {bad[0]}")
        return [r.text or "" for r in results]

    try:
        return list(await asyncio.gather(*(one(i, g) for i, g in enumerate(groups))))
    finally:
        for llm in llms:
            await llm.aclose_loop()
