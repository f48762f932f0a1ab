"""Peak memory of one training step of the bidirectional-LLM path (``--backbone llm``): full fine-tuning against
LoRA, each with and without GradCache, and LoRA without its dropout, side by side in one run.

The backbone is a Llama-architecture decoder with random weights built from ``--hidden/--layers/...`` (the hub is
not reachable here; compute and memory depend on the shapes, not on the values), trained with reasonir's ``fit``
exactly as ``reasonir train --backbone llm`` runs it: bidirectional attention, mean pooling, GritLM instruction
format. Each mode runs in a fresh subprocess and reports its peak resident set size (``VmHWM``) and, on a GPU,
``torch.cuda.max_memory_allocated``, beside the same process with the model loaded and no step taken.

    .venv/bin/python benchmarks/bench_train_llm_memory.py                    # CPU: ~45M-parameter decoder
    python benchmarks/bench_train_llm_memory.py --hidden 2048 --layers 16 --intermediate 5632 --heads 16 \\
        --batch 64 --length 512 --mini-batch 8 --bf16                       # GPU: ~1B parameters

Writes benchmarks/results/train_llm_memory.json (``--out`` to keep a GPU run beside the CPU one).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

from _common import RESULTS_DIR, run_child, write_results  # benchmarks/ is the script's folder
from bench_train import SCIFACT, make_rows

RESULTS = RESULTS_DIR / "train_llm_memory.json"

# (name, LoRA rank, GradCache on, LoRA dropout: None = the default, 0.05)
MODES = [("full", 0, False, None), ("full+gradcache", 0, True, None), ("lora", 16, False, None),
         ("lora+gradcache", 16, True, None), ("lora dropout 0", 16, False, 0.0)]

CHILD = """
import json, sys
import torch
from reasonir.train import TrainConfig, fit
rows, base, out, mode = sys.argv[1:5]
batch, length, mini, lora, bf16 = (int(x) for x in sys.argv[5:10])
dropout = None if sys.argv[10] == "default" else float(sys.argv[10])
config = TrainConfig(data=[rows], output_dir=out, base_model=base, backbone="llm", batch_size=batch,
                     negatives_per_query=1, query_max_length=length, document_max_length=length, max_steps=1,
                     save_steps=10**6, holdout=0, gradcache_mini_batch=mini or None, lora_rank=lora, lora_dropout=dropout,
                     bf16=bool(bf16), progress=False)
if mode == "load-only":
    from reasonir.train.model import load_base_model
    load_base_model(config)
else:
    fit(config, log=lambda _: None)
cuda = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"peak_rss_mb": hwm / 1024, "peak_cuda_mb": cuda}))
"""


def build_decoder(folder: Path, args: argparse.Namespace) -> tuple[str, int]:
    from transformers import AutoModel, LlamaConfig

    from reasonir.models.bidirectional import save_tiny_decoder

    path = save_tiny_decoder(LlamaConfig, folder, hidden_size=args.hidden, intermediate_size=args.intermediate,
                             num_hidden_layers=args.layers, num_attention_heads=args.heads,
                             num_key_value_heads=max(1, args.heads // 4), max_position_embeddings=max(512, args.length))
    params = sum(p.numel() for p in AutoModel.from_pretrained(path).parameters())
    return path, params


def measure(rows: Path, base: str, mode: str, args: argparse.Namespace, lora: int, gradcache: bool,
            dropout: float | None = None) -> dict:
    with tempfile.TemporaryDirectory() as out:
        return run_child(CHILD, str(rows), base, str(Path(out) / "m"), mode, str(args.batch), str(args.length),
                         str(args.mini_batch if gradcache else 0), str(lora), str(int(args.bf16)),
                         "default" if dropout is None else str(dropout))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--intermediate", type=int, default=1408)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--length", type=int, default=128)
    p.add_argument("--mini-batch", type=int, default=8)
    p.add_argument("--bf16", action="store_true")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    if not SCIFACT.exists():
        print(f"needs the SciFact corpus at {SCIFACT} (training rows are made from its titles and abstracts)",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        base, params = build_decoder(Path(tmp) / "decoder", args)
        rows = make_rows(Path(tmp) / "rows.jsonl", args.batch * 2)
        runs = {"model_loaded_no_step": measure(rows, base, "load-only", args, 0, False)}
        for name, lora, gradcache, dropout in MODES:
            runs[name] = measure(rows, base, "train", args, lora, gradcache, dropout)
            got = runs[name]
            gpu = f", peak GPU {got['peak_cuda_mb']:.0f} MB" if got["peak_cuda_mb"] is not None else ""
            print(f"{name:15s} peak RSS {got['peak_rss_mb']:.0f} MB{gpu}", flush=True)
    import torch

    key = "peak_cuda_mb" if runs["full"]["peak_cuda_mb"] is not None else "peak_rss_mb"
    result = {
        "what": "peak memory of one training step of the bidirectional-LLM path, random-weight Llama decoder",
        "how": "fresh subprocess per mode: VmHWM (and torch.cuda.max_memory_allocated on a GPU)",
        "decoder": {"hidden": args.hidden, "layers": args.layers, "intermediate": args.intermediate,
                    "heads": args.heads, "parameters": params},
        "settings": {"batch": args.batch, "negatives_per_query": 1, "max_length": args.length,
                     "gradcache_mini_batch": args.mini_batch, "lora_rank": 16, "lora_dropout": "0.05 unless named",
                     "bf16": args.bf16},
        "runs": runs,
        "compared_on": key,
        "ratio_over_full": {name: round(runs[name][key] / runs["full"][key], 3) for name, *_ in MODES},
        "machine": {"cpus": os.cpu_count(), "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
                    "platform": platform.platform(), "load_average": os.getloadavg()},
        "command": "python benchmarks/bench_train_llm_memory.py " + " ".join(sys.argv[1:]),
    }
    print("ratio to full fine-tuning (" + key + "): " + ", ".join(f"{k} {v}" for k, v in result["ratio_over_full"].items()))
    write_results(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
