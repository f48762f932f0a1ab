"""``reasonir label``: a teacher ranker's scores on training rows, for distillation (``reasonir train`` reads them)."""
from __future__ import annotations

import argparse
import json

from reasonir.label.teacher import TeacherConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("label", help="score training rows with a teacher ranker (pseudo-labels for distillation)",
                       description="Each row gets candidates - 1 negatives (its own, then documents sampled from the "
                                   "teacher's top --pool) and the teacher's scores of its positive and negatives "
                                   "(pos_scores / neg_scores); `reasonir train` distils rows that carry them. "
                                   "The default teacher is the hybrid of BM25 and the base encoder.")
    p.add_argument("file", help="training rows JSONL (reasonir synthesize output)")
    p.add_argument("--corpus", required=True, help="the corpus the rows were made from (BEIR folder, JSONL, parquet)")
    p.add_argument("--out", required=True, help="labelled rows JSONL (never overwritten without --overwrite)")
    p.add_argument("--teacher", choices=["hybrid", "dense", "bm25"], default=TeacherConfig.kind)
    p.add_argument("--dense-weight", type=float, default=TeacherConfig.dense_weight,
                   help=f"hybrid teacher: weight of the dense scores (default {TeacherConfig.dense_weight})")
    p.add_argument("--dense-model", help="the teacher's encoder (default all-MiniLM-L6-v2)")
    p.add_argument("--candidates", type=int, default=TeacherConfig.candidates,
                   help=f"texts scored per row, the positive included (default {TeacherConfig.candidates})")
    p.add_argument("--pool", type=int, default=TeacherConfig.pool,
                   help=f"negatives are sampled from the teacher's top POOL documents (default {TeacherConfig.pool})")
    p.add_argument("--keep-k", type=int, default=TeacherConfig.keep_k,
                   help="drop rows whose positive the teacher ranks below K in the corpus; 0 keeps every row "
                        f"(default {TeacherConfig.keep_k})")
    p.add_argument("--seed", type=int, default=TeacherConfig.seed)
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--output", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from reasonir.data import load_corpus, read_training_rows, write_training_rows
    from reasonir.label import label_rows

    if Path(args.out).exists() and not args.overwrite:
        raise FileExistsError(f"{args.out}: exists; pass --overwrite to replace it")
    config = TeacherConfig(kind=args.teacher, dense_weight=args.dense_weight, dense_model=args.dense_model,
                           candidates=args.candidates, pool=args.pool, keep_k=args.keep_k or None, seed=args.seed)
    rows = read_training_rows(args.file)
    report = label_rows(rows, load_corpus(args.corpus), config)
    write_training_rows(report.rows, args.out, overwrite=args.overwrite)
    summary = {"out": args.out, "teacher": config.describe(), **report.summary()}
    if args.output == "json":
        print(json.dumps(summary))
    else:
        ranks = summary["positive_teacher_rank"]
        print(f"labelled {summary['rows_out']} of {summary['rows_in']} rows with {summary['teacher']} -> {args.out}; "
              f"positive in the teacher's top 1/10/100: {ranks['<=1']}/{ranks['<=10']}/{ranks['<=100']}; "
              f"dropped {summary['dropped'] or 'none'}")
    return 0
