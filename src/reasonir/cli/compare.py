"""``reasonir compare``: several retrievers on one dataset, side by side."""
from __future__ import annotations

import argparse
import json

from reasonir.cli._retrieval import RETRIEVER_KINDS, add_model_args


def _kinds(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in RETRIEVER_KINDS]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(RETRIEVER_KINDS)}")
    return kinds


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="compare retrievers on one dataset in one table")
    p.add_argument("--dataset", required=True, help="BEIR folder or a spec such as bright:<task>")
    p.add_argument("--retrievers", type=_kinds, default=list(RETRIEVER_KINDS), help="e.g. bm25,dense,hybrid")
    p.add_argument("--split", default="test")
    p.add_argument("--measures", default="nDCG@10,R@10,R@100,MAP@10,MRR", help="comma-separated, e.g. nDCG@10,R@100")
    add_model_args(p)
    p.add_argument("--output", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from reasonir.cli._retrieval import build_retriever, task_name
    from reasonir.data import load_dataset
    from reasonir.evaluate import compare_retrievers
    from reasonir.retrieve import HybridRetriever

    ds = load_dataset(args.dataset, split=args.split)
    task = task_name(args.dataset)
    built = {kind: build_retriever(kind, args, task) for kind in args.retrievers if kind != "hybrid"}
    if "hybrid" in args.retrievers:
        # reuse the BM25 and dense parts: the dense part sees the same corpus again and skips encoding
        parts = [built.get("bm25") or build_retriever("bm25", args), built.get("dense") or build_retriever("dense", args, task)]
        built["hybrid"] = HybridRetriever(parts, method=args.fusion)
    table = compare_retrievers(ds, {k: built[k] for k in args.retrievers}, name=args.dataset,
                               measures=[m for m in args.measures.split(",") if m.strip()])
    print(json.dumps(table.to_dict()) if args.output == "json" else table.to_text())
    return 0
