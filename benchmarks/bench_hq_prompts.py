"""HQ prompt trial for the small prompt style: which few-shot prompt makes the embedded SmolLM2-135M write
questions that find their own document, on the same SciFact seeds.

Each variant is a folder of replacement prompt files (``--prompts``) under ``benchmarks/data/hq_prompt_trials/``,
plus the packaged prompt itself ("packaged"). Every side runs ``reasonir synthesize`` on the same 60 seeds of the
SciFact corpus (its claims are never read) with 4 candidates per seed, no negatives, the default selection
(lexical filters, round-trip: the seed in the base encoder's top 10 of all 5,183 abstracts). Reported per
variant: the share of seeds with a kept HQ row (seed yield), round-trip passes among all candidates, filler and
mentions-of-source drops, and tokens. Sides run in the order given, then reversed when ``--rounds 2``; the
response cache is off, so each round samples afresh (round-to-round spread = sampling noise).

    .venv/bin/python benchmarks/bench_hq_prompts.py [--seeds 60] [--candidates 4] [--rounds 1]

Writes benchmarks/results/hq_prompts.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
TRIALS = Path(__file__).resolve().parent / "data" / "hq_prompt_trials"
RESULTS = RESULTS_DIR / "hq_prompts.json"


def run_variant(name: str, folder: Path | None, args: argparse.Namespace, round_: int, tmp: Path) -> dict:
    out = tmp / f"{name}-{round_}.jsonl"
    cmd = [sys.executable, "-c", "import sys; from reasonir.cli import main; sys.exit(main(sys.argv[1:]))",
           "synthesize", str(args.scifact), "--kinds", "hq", "--n", str(args.seeds), "--candidates",
           str(args.candidates), "--negatives", "0", "--mined", "0", "--prompt-style", "small", "--seed", str(round_),
           "--out", str(out), "--output", "json", "--quiet", "--llm-no-cache"]
    if folder is not None:
        cmd += ["--prompts", str(folder)]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{name}: {done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    candidates = report["candidates"].get("hq", 0)
    dropped = report["dropped"]
    return {
        "variant": name, "round": round_, "seed_yield": report["seed_yield"].get("hq", 0.0),
        "rows": report["rows"], "candidates": candidates,
        "roundtrip_passed": report["roundtrip"].get("passed", 0),
        "roundtrip_pass_share_of_candidates": round(report["roundtrip"].get("passed", 0) / max(candidates, 1), 4),
        "filler": dropped.get("filler", 0), "mentions_source": dropped.get("mentions_source", 0),
        "prompt_tokens": report["usage"]["prompt_tokens"], "completion_tokens": report["usage"]["completion_tokens"],
        "wall_s": round(time.perf_counter() - started, 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=60)
    p.add_argument("--candidates", type=int, default=4)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--scifact", type=Path, default=SCIFACT / "corpus.jsonl")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    if not args.scifact.exists():
        print(f"needs the SciFact corpus at {args.scifact}", file=sys.stderr)
        return 2
    variants: list[tuple[str, Path | None]] = [(d.name, d) for d in sorted(TRIALS.iterdir()) if d.is_dir()]
    variants.append(("packaged", None))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            order = variants if round_ % 2 == 0 else variants[::-1]
            for name, folder in order:
                row = run_variant(name, folder, args, round_, Path(tmp))
                results.append(row)
                print(f"round {round_} {name:12s} seed yield {row['seed_yield']:.3f}, round-trip passes "
                      f"{row['roundtrip_passed']}/{row['candidates']}, filler {row['filler']}, mentions "
                      f"{row['mentions_source']}, {row['wall_s']} s", flush=True)
    write_results(args.out, {
        "what": "HQ seed yield of SmolLM2-135M on SciFact seeds per small-style prompt variant (same seeds)",
        "settings": {"seeds": args.seeds, "candidates": args.candidates, "rounds": args.rounds,
                     "roundtrip_k": 10, "miner": "dense (all-MiniLM-L6-v2)"},
        "variants": {name: str(folder.relative_to(ROOT)) if folder else "src/reasonir/synth/prompts/small"
                     for name, folder in variants},
        "results": results, "load_average_end": os.getloadavg(),
        "command": "python benchmarks/bench_hq_prompts.py " + " ".join(sys.argv[1:]),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
