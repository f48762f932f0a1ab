"""``reasonir`` command line; each subcommand is a thin call into the Python API."""
from __future__ import annotations

import argparse
import json
import sys

from reasonir.data import DataError, load_beir
from reasonir.evaluate import evaluate_run
from reasonir.retrieve import BM25Retriever


def _eval(args: argparse.Namespace) -> int:
    ds = load_beir(args.dataset, split=args.split)
    run = BM25Retriever().index(ds.documents).search(ds.queries, k=1000)
    scores = evaluate_run(ds.qrels, run)
    if args.output == "json":
        print(json.dumps(scores))
    else:
        for name, value in scores.items():
            print(f"{name:12s} {value:.4f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reasonir")
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("eval", help="evaluate a retriever on a BEIR-layout dataset")
    ev.add_argument("--dataset", required=True)
    ev.add_argument("--retriever", choices=["bm25"], default="bm25")
    ev.add_argument("--split", default="test")
    ev.add_argument("--output", choices=["text", "json"], default="text")
    ev.set_defaults(func=_eval)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (DataError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
