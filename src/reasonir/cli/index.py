"""``reasonir index``: build a retriever's index over a corpus and save it to a folder."""
from __future__ import annotations

import argparse
import json
import sys

from reasonir.cli._retrieval import RETRIEVER_KINDS, add_index_args, add_model_args
from reasonir.cli._scale import add_backend_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help="index a corpus and save it (reload with `reasonir search DIR`)")
    p.add_argument("corpus", help="a BEIR folder (its corpus.jsonl) or a JSONL file of {_id, text[, title]}")
    p.add_argument("--retriever", choices=RETRIEVER_KINDS, default="bm25")
    p.add_argument("--out", required=True, help="index folder (new, empty, or an index with --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing reasonir index at --out")
    add_model_args(p)
    add_index_args(p)
    add_backend_args(p, "dense encoding as a Ray Data pipeline, written as a shards index (resumable)")
    p.add_argument("--shard-size", type=int, default=None,
                   help="--backend ray: documents per shard, the unit a rerun skips when done (default 10000)")
    p.add_argument("--output", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from reasonir.cli._retrieval import build_retriever
    from reasonir.data import load_corpus
    from reasonir.retrieve.store import check_writable

    check_writable(Path(args.out), args.overwrite)  # refuse before indexing, not after
    if args.backend == "ray":
        return _run_ray(args)
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


def _run_ray(args: argparse.Namespace) -> int:
    from reasonir.cli._retrieval import search_options
    from reasonir.models.backends import DEFAULT_ENCODER_BACKEND
    from reasonir.scale.cluster import ray_session
    from reasonir.retrieve.dense import BATCH_SIZE
    from reasonir.scale.encode import SHARD_SIZE, encode_to_shards

    if args.retriever != "dense":
        print(f"error: --backend ray builds dense indexes; index --retriever {args.retriever} locally",
              file=sys.stderr)
        return 2
    with ray_session(args.ray_address, num_cpus=args.workers) as session:
        report = encode_to_shards(args.corpus, args.out, args.model, workers=args.workers,
                                  shard_size=args.shard_size or SHARD_SIZE, batch_size=args.batch_size or BATCH_SIZE,
                                  encoder_backend=args.encoder_backend or DEFAULT_ENCODER_BACKEND,
                                  overwrite=args.overwrite,
                                  show_progress=not args.no_progress, **search_options(args))
    summary = {"index": args.out, "retriever": "dense", "backend": "ray", "documents": report.documents,
               "seconds": round(report.seconds, 3), "ray_start_seconds": round(session.seconds, 3),
               **{k: v for k, v in report.as_dict().items() if k not in ("index", "documents", "seconds")}}
    print(json.dumps(summary) if args.output == "json" else
          f"indexed {report.documents} documents with dense on {args.workers} Ray workers into {args.out} "
          f"({report.shards} shards, {report.shards_reused} from an earlier run) in {summary['seconds']} s")
    return 0


def _recall(retriever) -> dict | None:
    """The approximate dense index's recall report, in a dense retriever or a hybrid's dense part."""
    from reasonir.retrieve.base import members
    from reasonir.retrieve.dense import DenseRetriever

    return next((p.recall for p in members(retriever) if isinstance(p, DenseRetriever) and p.recall is not None),
                None)
