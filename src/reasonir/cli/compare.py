"""``reasonir compare``: several retrievers (and pipelines) on one dataset, side by side, with their cost.

``--pipelines plain,rewrite,rerank,both`` evaluates each retriever alone, with LLM query rewriting, with
reranking (``--rerank``, default llm), and with both; the table shows FLOPs and seconds per query beside the
metrics, and ``--plot PNG`` draws nDCG@10 against FLOPs per query (the ReasonIR paper's Fig. 1a).
"""
from __future__ import annotations

import argparse
import json

from reasonir.cli._retrieval import RETRIEVER_KINDS, add_evaluation_choices, add_model_args, add_pipeline_arguments

PIPELINES = ("plain", "rewrite", "rerank", "both")


def _kinds(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in RETRIEVER_KINDS]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(RETRIEVER_KINDS)}")
    return kinds


def _pipelines(text: str) -> list[str]:
    chosen = [k.strip() for k in text.split(",") if k.strip()]
    if not chosen or any(k not in PIPELINES for k in chosen):
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(PIPELINES)}")
    return chosen


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="compare retrievers on one dataset in one table")
    p.add_argument("--dataset", required=True, help="BEIR folder or a spec such as bright:<task>")
    p.add_argument("--retrievers", type=_kinds, default=list(RETRIEVER_KINDS), help="e.g. bm25,dense,hybrid")
    p.add_argument("--split", default="test")
    p.add_argument("--measures", default="nDCG@10,R@10,R@100,MAP@10,MRR", help="comma-separated, e.g. nDCG@10,R@100")
    p.add_argument("--pipelines", type=_pipelines, default=["plain"],
                   help="comma-separated: plain, rewrite, rerank, both (rerank uses --rerank, default llm)")
    p.add_argument("--max-queries", type=int, default=None, help="evaluate only the first N queries (LLM steps are slow)")
    p.add_argument("--plot", help="draw nDCG@10 against FLOPs per query into this PNG")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --plot file")
    add_model_args(p)
    add_evaluation_choices(p)
    add_pipeline_arguments(p)
    p.add_argument("--output", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import contextlib
    from pathlib import Path

    from reasonir.cli._retrieval import build_retriever, pipeline_from_args, pipeline_label, task_name
    from reasonir.data import Dataset, load_dataset
    from reasonir.data.atomic import refuse_existing
    from reasonir.evaluate import compare_retrievers
    from reasonir.retrieve import HybridRetriever

    if args.plot:
        refuse_existing(Path(args.plot), args.overwrite)
    ds = load_dataset(args.dataset, split=args.split)
    if args.max_queries:
        ds = Dataset(ds.documents, ds.queries[:args.max_queries],
                     {q.id: ds.qrels[q.id] for q in ds.queries[:args.max_queries] if q.id in ds.qrels})
    task = task_name(args.dataset)
    built = {kind: build_retriever(kind, args, task) for kind in args.retrievers if kind != "hybrid"}
    if "hybrid" in args.retrievers:
        # reuse the BM25 and dense parts: the dense part sees the same corpus again and skips encoding
        parts = [built.get("bm25") or build_retriever("bm25", args), built.get("dense") or build_retriever("dense", args, task)]
        built["hybrid"] = HybridRetriever(parts, method=args.fusion)
    rerank = args.rerank if args.rerank != "none" else "llm"
    needs = any(p in ("rewrite", "both") for p in args.pipelines) or (
        rerank == "llm" and any(p in ("rerank", "both") for p in args.pipelines))
    with contextlib.ExitStack() as stack:
        llm = None
        if needs:
            from reasonir.cli.llm_flags import llm_from_args

            llm = stack.enter_context(llm_from_args(args))
        entries = {}
        for kind in args.retrievers:
            for variant in args.pipelines:
                rewrite, reranker = variant in ("rewrite", "both"), rerank if variant in ("rerank", "both") else "none"
                label = pipeline_label(kind, rewrite=rewrite, budget=None, rerank=reranker)
                entries[label] = pipeline_from_args(args, built[kind], llm, task=task, rewrite=rewrite, rerank=reranker)
        table = compare_retrievers(ds, entries, name=args.dataset,
                                   measures=[m for m in args.measures.split(",") if m.strip()],
                                   missing=args.missing_queries, ignore_identical_ids=args.ignore_identical_ids)
        table.notes.append(f"(--missing-queries {args.missing_queries}; FLOPs = 2 x parameters x tokens, query time; "
                           "corpus encoding amortised in the JSON output)")
        if args.plot:
            from reasonir.evaluate.plots import plot_quality_vs_cost

            points = {n: (table.rows[n].get("ndcg@10", float("nan")), table.cost.get(n, {}).get("flops_per_query"))
                      for n in table.rows}
            plot_quality_vs_cost(points, args.plot, title=f"{args.dataset}: quality against compute"
                                 + (f" (LLM {llm.model})" if llm else ""))
        print(json.dumps(table.to_dict()) if args.output == "json" else table.to_text())
        if llm is not None and args.output != "json":
            print(llm.usage().format())
    return 0
