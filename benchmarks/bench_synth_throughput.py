"""Kept rows per minute of ``reasonir synthesize`` with the embedded LLM: this checkout against an earlier commit
(the synthesizer before its sampling rework), side by side on the same machine, the same seeds and the same LLM weights.

Each side runs as its own ``reasonir synthesize`` process (its own embedded server, no response cache) on the
bundled SciFact sample, in the order A B B A so that neither side always runs first on a machine whose load drifts.
The baseline's source is taken from git (``git archive BASELINE src``) into a temporary folder and put first on
PYTHONPATH; both sides use this checkout's virtualenv. The dense ranker's corpus embeddings are computed once before
timing (the embedding cache keeps them), as a BM25 index would be.

    .venv/bin/python benchmarks/bench_synth_throughput.py [--seeds 8] [--baseline 0a9f055]

Writes benchmarks/results/synth_throughput.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "scifact-sample"
BASELINE = "0a9f055"  # main before the sampling rework (greedy, one JSON candidate per seed, LLM seed judge)


def export_baseline(commit: str, folder: Path) -> Path:
    archive = folder / "src.tar"
    with open(archive, "wb") as fh:
        subprocess.run(["git", "-C", str(ROOT), "archive", commit, "src"], stdout=fh, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    return folder / "src"


def run_side(src: Path | None, out: Path, args: argparse.Namespace) -> dict:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = f"{src}{os.pathsep}{env.get('PYTHONPATH', '')}"
    cmd = [sys.executable, "-c", "import sys; from reasonir.cli import main; sys.exit(main(sys.argv[1:]))",
           "synthesize", str(args.corpus), "--out", str(out), "--n", str(args.seeds), "--vl-words", args.vl_words,
           "--llm-no-cache", "--quiet", "--output", "json", "--overwrite"]
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    report = json.loads(done.stdout.strip().splitlines()[-1])
    usage = report.get("usage", {})
    return {"rows": report["rows"], "kept": report["kept"], "wall_s": round(wall, 1),
            "rows_per_minute": round(60 * report["rows"] / wall, 2),
            "prompt_tokens": usage.get("prompt_tokens"), "completion_tokens": usage.get("completion_tokens"),
            "prompt_tokens_per_s": round(usage.get("prompt_tokens", 0) / wall, 1),
            "completion_tokens_per_s": round(usage.get("completion_tokens", 0) / wall, 1),
            "candidates": report.get("candidates"), "load_before": os.getloadavg()[0]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--vl-words", default="100,300")
    p.add_argument("--baseline", default=BASELINE)
    p.add_argument("--corpus", type=Path, default=SAMPLE)
    p.add_argument("--out", type=Path, default=RESULTS_DIR / "synth_throughput.json")
    args = p.parse_args()

    from reasonir.data import load_corpus
    from reasonir.synth.ranker import build_ranker

    build_ranker(load_corpus(args.corpus))  # warm the embedding cache: a one-off per corpus, like a BM25 index
    runs: dict[str, list[dict]] = {"baseline": [], "current": []}
    with tempfile.TemporaryDirectory() as tmp:
        baseline_src = export_baseline(args.baseline, Path(tmp))
        for side in ("baseline", "current", "current", "baseline"):
            result = run_side(baseline_src if side == "baseline" else None, Path(tmp) / f"{side}.jsonl", args)
            runs[side].append(result)
            print(f"{side}: {result['rows']} rows in {result['wall_s']} s = {result['rows_per_minute']} rows/min "
                  f"(load {result['load_before']:.1f})", flush=True)
    mean = {side: statistics.mean(r["rows_per_minute"] for r in rs) for side, rs in runs.items()}
    ratio = mean["current"] / mean["baseline"] if mean["baseline"] else None
    record = {
        "what": "kept rows per minute of `reasonir synthesize` with the embedded SmolLM2, this checkout vs the "
                f"baseline commit {args.baseline}, same seeds and corpus, order A B B A, no response cache",
        "settings": {"seeds": args.seeds, "vl_words": args.vl_words, "corpus": str(args.corpus)},
        "runs": runs, "mean_rows_per_minute": mean, "ratio_current_over_baseline": ratio, "target_ratio": 3.0,
        "spread": {side: [r["rows_per_minute"] for r in rs] for side, rs in runs.items()},
        "date": time.strftime("%Y-%m-%d %H:%M"), "loadavg_end": os.getloadavg(),
        "command": "python benchmarks/bench_synth_throughput.py " + " ".join(sys.argv[1:]),
    }
    write_results(args.out, record)
    print(f"rows/min: baseline {mean['baseline']:.2f}, current {mean['current']:.2f}, ratio {ratio:.2f} (target 3)")


if __name__ == "__main__":
    main()
