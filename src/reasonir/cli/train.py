"""``reasonir train``: fine-tune a retriever on training rows (JSONL: query, pos, neg, instruction).

    reasonir train --data public.jsonl:0.5 hq.jsonl:0.3 vl.jsonl:0.2 --base all-MiniLM-L6-v2 --out model \\
        --dev ../shared/data/scifact --batch-size 32 --negatives 1 --max-steps 200

Several GPUs: ``torchrun --nproc_per_node 8 .venv/bin/reasonir train ...`` or ``accelerate launch --config_file
configs/accelerate_ddp.yaml .venv/bin/reasonir train ...`` (docs/training.md: multi-node, FSDP, DeepSpeed).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys


def register(sub: argparse._SubParsersAction) -> None:
    """The flags; every default is ``TrainConfig``'s (a flag left out is None here and the config's value there)."""
    from reasonir.models import DEFAULT_ENCODER
    from reasonir.train.config import TrainConfig

    p = sub.add_parser("train", help="fine-tune a retriever with contrastive learning (InfoNCE, hard negatives)")
    p.add_argument("--data", nargs="+", required=True, metavar="FILE[:RATIO]",
                   help="training JSONL files; a ':RATIO' suffix sets each file's share of the mixture")
    p.add_argument("--base", help=f"model to start from (default: {DEFAULT_ENCODER.rsplit('/', 1)[-1]}, packaged)")
    p.add_argument("--out", required=True, help="folder for the trained sentence-transformers model")
    p.add_argument("--backbone", choices=["auto", "sentence-transformer", "llm"],
                   help="'llm': decoder (Llama/Qwen/Mistral) with bidirectional attention")
    p.add_argument("--dev", metavar="BEIR_DIR", help="BEIR folder evaluated before, during, after")
    p.add_argument("--dev-split")
    p.add_argument("--dev-max-docs", type=int, help="evaluate on a corpus subset (judged docs kept)")
    p.add_argument("--dev-max-queries", type=int)
    p.add_argument("--eval-steps", type=int, help="also evaluate every N steps")
    p.add_argument("--batch-size", type=int, help="queries per step per device")
    p.add_argument("--negatives", type=int, help="hard negatives per query")
    p.add_argument("--gradcache-mini-batch", type=int,
                   help="GradCache: embed in mini-batches of this size (large batches at fixed memory)")
    p.add_argument("--temperature", type=float,
                   help="InfoNCE temperature (default: the base model's, models/instructions.json: MiniLM 0.05, "
                        "LLM backbones 0.02 as ReasonIR)")
    p.add_argument("--max-length", type=int, help="sets both query and document max tokens")
    p.add_argument("--query-max-length", type=int)
    p.add_argument("--document-max-length", type=int)
    p.add_argument("--instruction-format", choices=["auto", "gritlm", "e5", "plain", "none"])
    p.add_argument("--instruction", help="instruction for rows that have none")
    p.add_argument("--lr", type=float, help="learning rate (default: the base model's, 2e-5)")
    p.add_argument("--merge-base", type=float,
                   help="share of the base model's weights merged back after training, WiSE-FT (default: the base "
                        "model's, models/instructions.json: MiniLM 0.5, LLM backbones 0)")
    p.add_argument("--holdout", type=float,
                   help="share of rows held out for the label-free dev signal (positive recall@1; 0: off)")
    p.add_argument("--epochs", type=float)
    p.add_argument("--max-steps", type=int, help="> 0 overrides --epochs")
    p.add_argument("--max-rows", type=int, help="cap on the mixed training set")
    p.add_argument("--warmup-ratio", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--save-steps", type=int)
    p.add_argument("--logging-steps", type=int)
    p.add_argument("--lora-rank", type=int, help="> 0: train LoRA adapters (LLM backbones)")
    p.add_argument("--lora-dropout", type=float,
                   help="dropout on the LoRA adapters' inputs (default 0.05; 0 saves activation memory)")
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None,
                   help="bf16 autocast, fp32 master weights (default: where the GPU or CPU computes bf16 natively)")
    p.add_argument("--gradient-checkpointing", action="store_true", default=None)
    p.add_argument("--teacher-temperature", type=float,
                   help="rows with a teacher's scores (reasonir label): the teacher softmax's temperature "
                        f"(default {TrainConfig.teacher_temperature})")
    p.add_argument("--no-distill", dest="distill", action="store_false", default=None,
                   help="train rows that carry a teacher's scores contrastively, ignoring the scores")
    p.add_argument("--resume", action="store_true", default=None, help="continue from the newest checkpoint in --out")
    p.add_argument("--overwrite", action="store_true", default=None, help="train into a non-empty --out")
    p.add_argument("--output", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


# flag (argparse dest) -> TrainConfig field, for the flags whose value goes to the config as it is
_FIELDS = {
    "base": "base_model", "backbone": "backbone", "dev": "dev_dir", "dev_split": "dev_split",
    "dev_max_docs": "dev_max_documents", "dev_max_queries": "dev_max_queries", "eval_steps": "eval_steps",
    "batch_size": "batch_size", "negatives": "negatives_per_query", "gradcache_mini_batch": "gradcache_mini_batch",
    "temperature": "temperature", "query_max_length": "query_max_length",
    "document_max_length": "document_max_length", "instruction_format": "instruction_format",
    "instruction": "default_instruction", "lr": "learning_rate", "merge_base": "merge_base", "epochs": "epochs",
    "max_steps": "max_steps", "holdout": "holdout", "max_rows": "max_rows", "warmup_ratio": "warmup_ratio",
    "seed": "seed", "save_steps": "save_steps", "logging_steps": "logging_steps", "lora_rank": "lora_rank",
    "lora_dropout": "lora_dropout", "bf16": "bf16", "gradient_checkpointing": "gradient_checkpointing",
    "resume": "resume", "overwrite": "overwrite", "distill": "distill", "teacher_temperature": "teacher_temperature",
}


def config_from_args(args: argparse.Namespace):
    from reasonir.train import DataSource, TrainConfig

    given = {field: value for flag, field in _FIELDS.items() if (value := vars(args)[flag]) is not None}
    if args.max_length:  # --max-length sets both lengths, over their own flags
        given |= {"query_max_length": args.max_length, "document_max_length": args.max_length}
    return TrainConfig(data=[DataSource.parse(spec) for spec in args.data], output_dir=args.out, **given)


def run(args: argparse.Namespace) -> int:
    from reasonir.train import fit

    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # In JSON mode everything but the result (our log, the trainer's progress) goes to stderr: stdout is one JSON line.
    if args.output == "json":
        with contextlib.redirect_stdout(sys.stderr):
            result = fit(config, log=lambda line: print(line, file=sys.stderr))
    else:
        result = fit(config)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # under torchrun every process runs this; only the first reports
    record = {
        "model": str(result.output_dir), "steps": result.steps, "train_loss": result.train_loss,
        "rows_per_source": result.rows_per_source, "dev_before": result.dev_before, "dev_after": result.dev_after,
    }
    if args.output == "json":
        print(json.dumps(record))
    else:
        print(f"trained {result.steps} steps, final loss {result.train_loss:.4f}; model in {result.output_dir}")
    return 0
