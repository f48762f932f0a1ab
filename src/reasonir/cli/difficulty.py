"""``reasonir difficulty``: how often a hard negative outscores the positive (ReasonIR Fig. 3c), per kind."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_PUBLIC = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "scifact"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("difficulty", help="error rate of BM25 and a dense model on training rows, per kind",
                       description="Per kind, the share of rows where a hard negative scores above the positive "
                                   "under BM25 and under a dense retriever, beside a public-style set (SciFact "
                                   "train claims with BM25-mined negatives).")
    p.add_argument("file", help="training rows JSONL (reasonir synthesize output)")
    p.add_argument("--dense-model", help="dense encoder (default all-MiniLM-L6-v2)")
    p.add_argument("--retrievers", default="bm25,dense", help="bm25, dense or bm25,dense (default both)")
    p.add_argument("--public", default=None,
                   help=f"BEIR folder with qrels/train.tsv for the public-style set (default {DEFAULT_PUBLIC} "
                        "when present; 'none' to skip)")
    p.add_argument("--public-n", type=int, default=200, help="claims in the public-style set (default 200)")
    p.add_argument("--output", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from reasonir.synth.difficulty import difficulty_report

    retrievers = tuple(r.strip() for r in args.retrievers.split(",") if r.strip())
    if not retrievers or set(retrievers) - {"bm25", "dense"}:
        print(f"error: --retrievers takes bm25, dense or bm25,dense, not {args.retrievers!r}", file=sys.stderr)
        return 2
    public = args.public
    if public is None:
        public = DEFAULT_PUBLIC if (DEFAULT_PUBLIC / "qrels" / "train.tsv").is_file() else None
    elif public == "none":
        public = None
    report = difficulty_report(args.file, retrievers=retrievers, dense_model=args.dense_model, public=public,
                               public_n=args.public_n)
    print(json.dumps(report.as_dict()) if args.output == "json" else report.format())
    return 0
