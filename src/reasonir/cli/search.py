"""``reasonir search``: query a saved index."""
from __future__ import annotations

import argparse
import json

from reasonir.cli._retrieval import add_encoder_backend_arg, add_pipeline_arguments, add_search_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="search a saved index (made by `reasonir index`)")
    p.add_argument("index", help="index folder")
    p.add_argument("query", help="query text")
    p.add_argument("-k", type=int, default=10, help="results to return (default: 10)")
    p.add_argument("--model", default=None, help="query encoder for a dense index (default: the one it was built with)")
    add_encoder_backend_arg(p, saved=True)
    p.add_argument("--task", default=None, help="task whose reranking prompt to use (e.g. biology; default: generic)")
    add_search_args(p)
    add_pipeline_arguments(p)
    p.add_argument("--output", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import contextlib

    from reasonir.cli._retrieval import needs_llm, pipeline_from_args, search_options
    from reasonir.data import Query
    from reasonir.evaluate.runs import ranked
    from reasonir.retrieve import load_index, lookup_documents
    from reasonir.retrieve.compute import format_flops, summarize

    kwargs = {"show_progress": False, **search_options(args)}
    if args.model:
        kwargs["model"] = args.model
    if args.encoder_backend:
        from reasonir.retrieve.store import read_manifest

        if read_manifest(args.index)["kind"] != "bm25":  # a BM25 index has no encoder
            kwargs["encoder_backend"] = args.encoder_backend
    retriever = load_index(args.index, **kwargs)
    with contextlib.ExitStack() as stack:
        llm = None
        if needs_llm(args):
            from reasonir.cli.llm_flags import llm_from_args

            llm = stack.enter_context(llm_from_args(args))
        details = pipeline_from_args(args, retriever, llm, task=args.task).search_detailed([Query("query", args.query)],
                                                                                            k=args.k)
    cost = summarize(details.compute, details.seconds)
    hits = ranked(details.run["query"])
    docs = lookup_documents(args.index, [doc_id for doc_id, _ in hits])
    results = [{"rank": i, "id": doc_id, "score": score, "title": docs[doc_id].title if doc_id in docs else "",
                "text": docs[doc_id].text if doc_id in docs else ""} for i, (doc_id, score) in enumerate(hits, 1)]
    if args.output == "json":
        print(json.dumps({"query": args.query, "rewrite": details.rewrites.get("query"), "results": results,
                          "cost": cost}, ensure_ascii=False))
    else:
        if "query" in details.rewrites:
            print("rewritten query: " + " ".join(details.rewrites["query"].split())[:300])
        for r in results:
            snippet = " ".join(f"{r['title']} {r['text']}".split())[:100]
            print(f"{r['rank']:3d}  {r['score']:8.4f}  {r['id']}  {snippet}")
        print(f"cost: {format_flops(cost['flops_per_query'])} FLOPs, {cost['seconds_per_query']:.3f} s")
    return 0
