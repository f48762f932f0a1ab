"""What the retrieval subcommands (eval, compare, index, search) share: options, loading, writing."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

RETRIEVER_KINDS = ("bm25", "dense", "hybrid")


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None,
                   help="encoder name or folder for dense/hybrid (default: sentence-transformers/all-MiniLM-L6-v2)")
    p.add_argument("--batch-size", type=int, default=64, help="encoding batch size (default: 64)")
    p.add_argument("--fusion", choices=["weighted", "rrf"], default="weighted",
                   help="hybrid fusion: min-max weighted sum, or reciprocal-rank fusion (k=60)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the document embedding cache")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def dense_options(args: argparse.Namespace, task: str | None = None) -> dict[str, Any]:
    return {"batch_size": args.batch_size, "use_cache": not args.no_cache, "show_progress": not args.no_progress,
            "task": task}


def build_retriever(kind: str, args: argparse.Namespace, task: str | None = None):
    from reasonir.retrieve import make_retriever

    if kind == "bm25":
        return make_retriever("bm25", show_progress=not args.no_progress)
    options = dense_options(args, task)
    if kind == "hybrid":
        options["method"] = args.fusion
    return make_retriever(kind, args.model, **options)  # type: ignore[arg-type]


def task_name(spec: str) -> str:
    """The task a dataset spec names, for instructions: ``bright:biology[@DIR]`` -> biology, a folder -> its name."""
    from reasonir.data import parse_spec

    parsed = parse_spec(spec)
    return parsed.task or Path(parsed.location).name


def write_json(obj: Any, path: str | Path, *, overwrite: bool) -> None:
    """Write JSON atomically; refuse to replace an existing file unless ``overwrite``."""
    from reasonir.data.atomic import atomic_open

    with atomic_open(path, overwrite=overwrite) as fh:
        json.dump(obj, fh, indent=1)
