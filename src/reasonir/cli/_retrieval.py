"""What the retrieval subcommands (eval, compare, index, search) share: options, loading, writing."""
from __future__ import annotations

import argparse
import json
import os
import tempfile
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
    from reasonir import data

    parse = getattr(data, "parse_spec", None)
    if parse is not None:
        parsed = parse(spec)
        return parsed.task or Path(parsed.location).name
    return spec.split(":", 1)[1].split("@", 1)[0] if spec.startswith("bright") else Path(spec).name


def load_eval_dataset(spec: str, split: str):
    """``reasonir.data.load_dataset`` when the data package has it (BEIR folders, ``bright:<task>``), else BEIR."""
    from reasonir import data

    loader = getattr(data, "load_dataset", None)
    if loader is not None:
        return loader(spec, split=split)
    return data.load_beir(spec, split=split)


def load_corpus_documents(path: str):
    """A BEIR folder's corpus.jsonl or a JSONL file of {_id, text[, title]} (``reasonir.data.load_corpus`` if any)."""
    from reasonir import data

    loader = getattr(data, "load_corpus", None)
    if loader is not None:
        return list(loader(path))
    from reasonir.data.errors import DataError
    from reasonir.data.jsonl import read_jsonl

    file = Path(path) / "corpus.jsonl" if Path(path).is_dir() else Path(path)
    docs = [data.Document(str(o["_id"]), str(o.get("text", "")), str(o.get("title", "")))
            for _, o in read_jsonl(file, ("_id", "text"))]
    if not docs:
        raise DataError(file, None, None, "empty corpus")
    return docs


def write_json(obj: Any, path: str | Path, *, overwrite: bool) -> None:
    """Write JSON atomically; refuse to replace an existing file unless ``overwrite``."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: already exists; pass --overwrite to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=1)
    os.replace(tmp, path)
