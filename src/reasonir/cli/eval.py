"""``reasonir eval``: evaluate a retriever on a BEIR-layout dataset."""
from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a retriever on a BEIR-layout dataset")
    p.add_argument("--dataset", required=True, help="folder with corpus.jsonl, queries.jsonl, qrels/<split>.tsv")
    p.add_argument("--retriever", choices=["bm25"], default="bm25")
    p.add_argument("--split", default="test")
    p.add_argument("--output", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from reasonir.data import load_beir
    from reasonir.evaluate import evaluate_run
    from reasonir.retrieve import BM25Retriever

    ds = load_beir(args.dataset, split=args.split)
    run_ = BM25Retriever().index(ds.documents).search(ds.queries, k=1000)
    scores = evaluate_run(ds.qrels, run_)
    if args.output == "json":
        print(json.dumps(scores))
    else:
        for name, value in scores.items():
            print(f"{name:12s} {value:.4f}")
    return 0
