"""Sweep training settings and data selections for fine-tuning on synthesized SciFact rows; dev and test nDCG@10.

The dev set is SciFact's *train* claims (809); settings are chosen on it, test (300 claims) is read once for the
chosen row. Each grid entry selects rows (by the positive's round-trip rank recorded in ``meta.positive_rank``,
rows per seed, hard negatives kept or not), trains all-MiniLM-L6-v2 with reasonir's own trainer (``train.fit``),
and evaluates the model and, for each ``wise`` weight, its weight-space interpolation with the base model
(WiSE-FT, Wortsman et al., 2022: ``alpha * fine-tuned + (1 - alpha) * base``) on the full corpus.

On a CPU one entry takes 10-20 minutes (training plus two corpus encodings), so this script is meant for a GPU
(``benchmarks/gpu/sweep_scifact.sh`` runs it on the lent device with the packaged weights in fp16 for transfer);
``bench_finetune_scifact.py`` then reproduces the chosen entry on the CPU with reasonir's CLI defaults.

    python benchmarks/sweep_finetune_scifact.py --data rows.jsonl --grid benchmarks/gpu/grid.json

Writes benchmarks/results/sweep_finetune_scifact.json (or --out).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS_DIR, write_results

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"

DEFAULT_GRID = [
    {"name": "default"},
]


def select_rows(rows: list[dict], max_rank: int | None, per_seed: int | None, negatives: int,
                candidate: int | None = None) -> list[dict]:
    """Rows whose positive ranked within ``max_rank`` at synthesis, the best ``per_seed`` of each seed document;
    ``candidate``: only that sampled candidate of each seed, whatever its rank (one request per document, as a
    naive recipe without selection would have it)."""
    kept = [r for r in rows if (max_rank is None or (r["meta"].get("positive_rank") or 10**9) <= max_rank)
            and (candidate is None or r["meta"].get("candidate") == candidate)]
    kept.sort(key=lambda r: (r.get("seed_id") or "", r["meta"].get("positive_rank") or 10**9))
    out, per = [], {}
    for r in kept:
        seed = r.get("seed_id") or r["query"]
        if per_seed is not None and per.get(seed, 0) >= per_seed:
            continue
        per[seed] = per.get(seed, 0) + 1
        out.append({**r, "neg": r["neg"][:negatives]})
    return out


def evaluate(model, splits: dict, device: str) -> dict[str, float]:
    """nDCG@10 per split, exact search over the whole corpus (one corpus encoding)."""
    import torch

    from reasonir.evaluate import evaluate_run
    from reasonir.retrieve.base import document_text

    documents = next(iter(splits.values())).documents
    docs = model.encode([document_text(d) for d in documents], batch_size=256, normalize_embeddings=True,
                        convert_to_tensor=True, show_progress_bar=False)
    ids = [d.id for d in documents]
    out = {}
    for name, data in splits.items():
        queries = model.encode([q.text for q in data.queries], batch_size=256, normalize_embeddings=True,
                               convert_to_tensor=True, show_progress_bar=False)
        scores, index = torch.topk(queries @ docs.T, k=100, dim=1)
        run = {q.id: {ids[j]: float(s) for s, j in zip(srow.tolist(), irow.tolist())}
               for q, srow, irow in zip(data.queries, scores.cpu(), index.cpu())}
        out[name] = round(evaluate_run(data.qrels, run)["ndcg@10"], 4)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, type=Path, nargs="+", help="rows from `reasonir synthesize` on SciFact")
    p.add_argument("--base", default=None, help="base model folder (default: the packaged all-MiniLM-L6-v2)")
    p.add_argument("--scifact", type=Path, default=SCIFACT)
    p.add_argument("--grid", type=Path, default=None, help="JSON list of entries (see DEFAULT_GRID)")
    p.add_argument("--splits", default="train,test")
    p.add_argument("--eval-max-docs", type=int, default=None, help="corpus subset (smoke runs)")
    p.add_argument("--out", type=Path, default=RESULTS_DIR / "sweep_finetune_scifact.json")
    args = p.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    from reasonir.models import resolve_model
    from reasonir.train import TrainConfig, fit
    from reasonir.train.holdout import HOLDOUT_K
    from reasonir.train.model import copy_state, merge_weights
    from reasonir.train.evaluator import load_dev_set

    device = "cuda" if torch.cuda.is_available() else "cpu"
    base_path = args.base or resolve_model(None)
    rows = [json.loads(line) for path in args.data for line in open(path, encoding="utf-8") if line.strip()]
    grid = json.loads(args.grid.read_text()) if args.grid else DEFAULT_GRID
    splits = {name: load_dev_set(args.scifact, name, max_documents=args.eval_max_docs) for name in args.splits.split(",")}
    base = SentenceTransformer(str(base_path), device=device, model_kwargs={"dtype": torch.float32})
    base_state = copy_state(base)
    started = time.perf_counter()
    record = {"device": torch.cuda.get_device_name() if device == "cuda" else "cpu", "rows_read": len(rows),
              "base": evaluate(base, splits, device), "entries": []}
    print("base", record["base"], flush=True)
    for entry in grid:
        t0 = time.perf_counter()
        chosen = select_rows(rows, entry.get("max_rank"), entry.get("per_seed"), entry.get("negatives", 1),
                             entry.get("candidate"))
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "rows.jsonl"
            data.write_text("".join(json.dumps(r) + "\n" for r in chosen))
            config = TrainConfig(
                data=[str(data)], output_dir=Path(tmp) / "model", base_model=str(base_path),
                batch_size=entry.get("batch_size", 32), negatives_per_query=entry.get("negatives", 1),
                learning_rate=entry.get("lr"), epochs=entry.get("epochs", 1.0), max_steps=entry.get("max_steps", -1),
                min_steps=entry.get("min_steps"), temperature=entry.get("temperature"),
                warmup_ratio=entry.get("warmup_ratio", 0.1), holdout=entry.get("holdout", 0.1),
                save_steps=10**6, save_total_limit=1, progress=False, seed=entry.get("seed", 42),
            )
            result = fit(config, log=lambda _msg: None)
            model = SentenceTransformer(str(Path(tmp) / "model"), device=device, model_kwargs={"dtype": torch.float32})
        tuned_state = copy_state(model)
        scores = {}
        for alpha in entry.get("wise", [1.0]):
            model.load_state_dict(tuned_state, strict=False)  # each weight from the fine-tuned one again
            merge_weights(model, base_state, 1 - alpha)  # alpha * fine-tuned + (1 - alpha) * base (WiSE-FT)
            scores[str(alpha)] = evaluate(model, splits, device)
        out = {**entry, "rows": len(chosen), "steps": result.steps, "final_loss": result.train_loss,
               f"holdout_recall@{HOLDOUT_K}": [result.holdout_before, result.holdout_after], "ndcg@10": scores,
               "seconds": round(time.perf_counter() - t0, 1)}
        record["entries"].append(out)
        print(json.dumps(out), flush=True)
        write_results(args.out, {**record, "seconds": round(time.perf_counter() - started, 1),
                                 "command": "python benchmarks/sweep_finetune_scifact.py " + " ".join(sys.argv[1:])})
    return 0


if __name__ == "__main__":
    sys.exit(main())
