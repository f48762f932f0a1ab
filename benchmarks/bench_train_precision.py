"""Training in bf16 against fp32 on the same rows: steps per second of the optimisation loop, and the SciFact score of
the model each one trains.

reasonir trains in bf16 autocast (fp32 master weights) by default where the CPU computes bf16 natively
(AVX512-BF16, AMX; ``reasonir.train.model.use_bf16``). This measures what that buys and checks it costs nothing: the
same rows (SciFact questions of the embedded SmolLM2, round-trip selected, ``benchmarks/data``), the same settings
and seed, trained in fp32 and in bf16 in the order A B B A; each precision's model is then scored on SciFact's test
claims and on its train claims (the dev set), both encoded the same way.

    .venv/bin/python benchmarks/bench_train_precision.py

Writes benchmarks/results/train_precision.json with the CPU model and flags.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _common import RESULTS_DIR, write_results

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
ROWS = ROOT / "benchmarks" / "data" / "scifact_synth_smollm2_v3_all.jsonl"


def selected_rows(path: Path, out: Path, max_rank: int = 10) -> Path:
    """The round-trip selection replayed: per seed, the best-ranked candidate whose positive is in the base top 10."""
    from reasonir.data import read_training_rows, write_training_rows

    best: dict[str, object] = {}
    for row in read_training_rows(path):
        rank = row.meta.get("positive_rank")
        if rank is not None and rank <= max_rank and (row.seed_id not in best or
                                                      rank < best[row.seed_id].meta["positive_rank"]):
            best[row.seed_id] = row
    return write_training_rows(list(best.values()), out)


def train(rows: Path, out: Path, bf16: bool, seed: int) -> dict:
    from reasonir.train import TrainConfig
    from reasonir.train.trainer import fit

    config = TrainConfig(data=[str(rows)], output_dir=out, bf16=bf16, seed=seed, progress=False, overwrite=True,
                         document_max_length=128)
    result = fit(config, log=lambda message: None)
    return {"steps": result.steps, "train_seconds": round(result.train_seconds, 2),
            "steps_per_second": round(result.steps / result.train_seconds, 4)}


def score(model: str | None) -> dict:
    from reasonir.data import load_dataset
    from reasonir.evaluate import evaluate_retriever
    from reasonir.retrieve import DenseRetriever

    retriever = DenseRetriever(model, show_progress=False, use_cache=model is None)
    out = {}
    for split in ("test", "train"):
        data = load_dataset(str(SCIFACT), split)
        result = evaluate_retriever(retriever, data, index=split == "test", measures=["ndcg@10"])
        out[split] = round(result.scores["ndcg@10"], 4)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", type=Path, default=RESULTS_DIR / "train_precision.json")
    args = p.parse_args()

    from reasonir.hardware import bf16_supported, describe

    work = Path(tempfile.mkdtemp(prefix="bench-precision-"))
    rows = selected_rows(ROWS, work / "rows.jsonl")
    order = [False, True, True, False]  # fp32 bf16 bf16 fp32: each side once early, once late
    runs = []
    for bf16 in order:
        start = time.time()
        stats = train(rows, work / ("bf16" if bf16 else "fp32"), bf16, args.seed)
        runs.append({"bf16": bf16, **stats, "load_average": round(__import__("os").getloadavg()[0], 2),
                     "wall_seconds": round(time.time() - start, 1)})
        print(runs[-1], flush=True)
    rate = {name: statistics.mean(r["steps_per_second"] for r in runs if r["bf16"] == flag)
            for name, flag in (("fp32", False), ("bf16", True))}
    quality = {"base": score(None), "fp32": score(str(work / "fp32")), "bf16": score(str(work / "bf16"))}
    record = {"cpu": describe(), "bf16_units": bf16_supported(), "rows": str(ROWS), "runs": runs,
              "steps_per_second": {k: round(v, 4) for k, v in rate.items()},
              "speedup_bf16_over_fp32": round(rate["bf16"] / rate["fp32"], 3),
              "ndcg@10": quality,
              "note": "each precision trained twice (A B B A); its model is the same both times (same seed); scores "
                      "are SciFact test and train (dev) claims, dense retrieval with the default encoder backend"}
    print(record["steps_per_second"], record["speedup_bf16_over_fp32"], quality)
    write_results(args.out, record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
