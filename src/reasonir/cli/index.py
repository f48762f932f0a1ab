"""``reasonir index``: build a retriever's index over a corpus and save it to a folder."""
from __future__ import annotations

import argparse
import json

from reasonir.cli._retrieval import RETRIEVER_KINDS, add_index_args, add_model_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help="index a corpus and save it (reload with `reasonir search DIR`)")
    p.add_argument("corpus", help="a BEIR folder (its corpus.jsonl) or a JSONL file of {_id, text[, title]}")
    p.add_argument("--retriever", choices=RETRIEVER_KINDS, default="bm25")
    p.add_argument("--out", required=True, help="index folder (new, empty, or an index with --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing reasonir index at --out")
    add_model_args(p)
    add_index_args(p)
    p.add_argument("--output", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from reasonir.cli._retrieval import build_retriever
    from reasonir.data import load_corpus
    from reasonir.retrieve.store import check_writable

    check_writable(Path(args.out), args.overwrite)  # refuse before indexing, not after
    start = time.perf_counter()
    docs = load_corpus(args.corpus)
    retriever = build_retriever(args.retriever, args).index(docs)
    retriever.save(args.out, overwrite=args.overwrite)
    summary = {"index": args.out, "retriever": args.retriever, "documents": len(docs),
               "seconds": round(time.perf_counter() - start, 3)}
    recall = _recall(retriever)
    if recall is not None:
        summary["recall"] = recall  # also in the index manifest
    print(json.dumps(summary) if args.output == "json" else
          f"indexed {len(docs)} documents with {args.retriever} into {args.out} in {summary['seconds']} s"
          + (f"; {args.faiss_factory} recall@{recall['k']} vs exact {recall['recall']:.4f} "
             f"({recall['probes']} {recall['probe_source']} as probes)" if recall else ""))
    return 0


def _recall(retriever) -> dict | None:
    """The approximate dense index's recall report, in a dense retriever or a hybrid's dense part."""
    for part in [retriever, *getattr(retriever, "retrievers", [])]:
        if getattr(part, "recall", None) is not None:
            return part.recall
    return None
