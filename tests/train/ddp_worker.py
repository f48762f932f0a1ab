"""Run by test_distributed.py, once as one process and once under torchrun with two (gloo on CPU).

Not a test module: it trains a tiny model for a few steps and rank 0 writes the logged loss curve as JSON.
"""
from __future__ import annotations

import argparse
import json
import os

import torch

from reasonir.train import TrainConfig, fit


def worker_config(rows: str, base: str, out, batch_size: int, steps: int) -> TrainConfig:
    return TrainConfig(data=[rows], output_dir=out, base_model=base, batch_size=batch_size, query_max_length=16,
                       document_max_length=32, max_steps=steps, logging_steps=1, learning_rate=1e-3,
                       warmup_ratio=0.0, save_steps=1000, gather_across_devices=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", required=True)
    p.add_argument("--base", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--batch-size", type=int, required=True, help="per process")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--result", required=True)
    args = p.parse_args()
    torch.set_num_threads(1)
    result = fit(worker_config(args.rows, args.base, args.out, args.batch_size, args.steps), log=lambda _: None)
    if int(os.environ.get("RANK", "0")) == 0:
        with open(args.result, "w") as fh:
            json.dump({"loss": result.loss_history, "world_size": int(os.environ.get("WORLD_SIZE", "1"))}, fh)


if __name__ == "__main__":
    main()
