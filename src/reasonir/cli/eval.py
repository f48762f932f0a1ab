"""``reasonir eval``: evaluate a retriever on a dataset (BEIR folder, or what ``reasonir.data`` accepts)."""
from __future__ import annotations

import argparse
import json

from reasonir.cli._retrieval import RETRIEVER_KINDS, add_model_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a retriever on a dataset (nDCG, MAP, recall, P at 1..100, MRR)")
    p.add_argument("--dataset", required=True,
                   help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) or a spec such as bright:<task>")
    p.add_argument("--retriever", choices=RETRIEVER_KINDS, default="bm25")
    p.add_argument("--split", default="test")
    p.add_argument("-k", "--top-k", type=int, default=1000, help="documents kept per query (BRIGHT, BEIR: 1000)")
    p.add_argument("--run-file", help="also write the run as a TREC run file")
    p.add_argument("--per-query", help="also write per-query scores as JSON {qid: {metric: value}}")
    p.add_argument("--overwrite", action="store_true", help="replace existing --run-file/--per-query files")
    add_model_args(p)
    p.add_argument("--output", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from reasonir.cli._retrieval import build_retriever, task_name, write_json
    from reasonir.data import load_dataset
    from reasonir.data.atomic import refuse_existing
    from reasonir.evaluate import evaluate_retriever, write_trec_run

    for target in (args.run_file, args.per_query):  # fail before minutes of encoding, not after
        if target:
            refuse_existing(Path(target), args.overwrite)
    ds = load_dataset(args.dataset, split=args.split)
    retriever = build_retriever(args.retriever, args, task_name(args.dataset))
    result = evaluate_retriever(retriever, ds, k=args.top_k)
    if args.run_file:
        write_trec_run(result.run, args.run_file, tag=f"reasonir-{args.retriever}", overwrite=args.overwrite)
    if args.per_query:
        write_json(result.per_query, args.per_query, overwrite=args.overwrite)
    if args.output == "json":
        print(json.dumps(result.scores))
    else:
        for name, value in result.scores.items():
            print(f"{name:12s} {value:.4f}")
    return 0
