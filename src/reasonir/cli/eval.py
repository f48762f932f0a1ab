"""``reasonir eval``: evaluate a retriever, or a pipeline with LLM rewriting/reranking, on a dataset.

Prints the metrics, then what each query cost (FLOPs per query, seconds per query) and how queries with no
retrieved document were counted. ``--rewrite-budgets 64,128,256`` evaluates query rewriting at each budget and
reports (and with ``--plot``, draws) nDCG@10 against the budget.
"""
from __future__ import annotations

import argparse
import json

from reasonir.cli._retrieval import RETRIEVER_KINDS, add_evaluation_choices, add_model_args, add_pipeline_arguments


def _budgets(text: str) -> list[int]:
    try:
        budgets = [int(b) for b in text.split(",") if b.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, e.g. 64,128,256, not {text!r}") from None
    if not budgets:
        raise argparse.ArgumentTypeError("expected at least one budget")
    return budgets


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a retriever on a dataset (nDCG, MAP, recall, P at 1..100, MRR)")
    p.add_argument("--dataset", required=True,
                   help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) or a spec such as bright:<task>")
    p.add_argument("--retriever", choices=RETRIEVER_KINDS, default="bm25")
    p.add_argument("--split", default="test")
    p.add_argument("-k", "--top-k", type=int, default=1000, help="documents kept per query (BRIGHT, BEIR: 1000)")
    p.add_argument("--max-queries", type=int, default=None, help="evaluate only the first N queries (LLM steps are slow)")
    p.add_argument("--run-file", help="also write the run as a TREC run file")
    p.add_argument("--per-query", help="also write per-query scores as JSON {qid: {metric: value}}")
    p.add_argument("--rewrite-budgets", type=_budgets, default=None,
                   help="evaluate rewriting at each budget, e.g. 64,128,256,512,1024 (nDCG@10 per budget)")
    p.add_argument("--plot", help="with --rewrite-budgets: draw nDCG@10 against the budget into this PNG")
    p.add_argument("--overwrite", action="store_true", help="replace existing --run-file/--per-query/--plot files")
    add_model_args(p)
    add_evaluation_choices(p)
    add_pipeline_arguments(p)
    p.add_argument("--output", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import contextlib
    from pathlib import Path

    from reasonir.cli._retrieval import (build_retriever, describe_missing, needs_llm, pipeline_from_args,
                                         pipeline_label, task_name, write_json)
    from reasonir.data import Dataset, load_dataset
    from reasonir.data.atomic import refuse_existing
    from reasonir.evaluate import evaluate_retriever, write_trec_run
    from reasonir.retrieve.compute import format_flops

    for target in (args.run_file, args.per_query, args.plot):  # fail before minutes of encoding, not after
        if target:
            refuse_existing(Path(target), args.overwrite)
    ds = load_dataset(args.dataset, split=args.split)
    if args.max_queries:
        ds = Dataset(ds.documents, ds.queries[:args.max_queries],
                     {q.id: ds.qrels[q.id] for q in ds.queries[:args.max_queries] if q.id in ds.qrels})
    task = task_name(args.dataset)
    retriever = build_retriever(args.retriever, args, task)
    with contextlib.ExitStack() as stack:
        llm = None
        if needs_llm(args):
            from reasonir.cli.llm_flags import llm_from_args

            llm = stack.enter_context(llm_from_args(args))
        options = {"k": args.top_k, "missing": args.missing_queries, "ignore_identical_ids": args.ignore_identical_ids}
        if args.rewrite_budgets:
            return _budget_sweep(args, ds, retriever, llm, task, options)
        pipeline = pipeline_from_args(args, retriever, llm, task=task)
        result = evaluate_retriever(pipeline, ds, **options)
        label = pipeline_label(args.retriever, rewrite=args.rewrite, budget=args.rewrite_budget, rerank=args.rerank)
        if args.run_file:
            write_trec_run(result.run, args.run_file, tag=f"reasonir-{args.retriever}", overwrite=args.overwrite)
        if args.per_query:
            write_json(result.per_query, args.per_query, overwrite=args.overwrite)
        missing_line = describe_missing(args.missing_queries, len(result.missing), len(ds.qrels))
        if args.output == "json":
            print(json.dumps({**result.scores, "pipeline": label, "cost": result.cost,
                              "missing_queries": {"rule": args.missing_queries, "count": len(result.missing)},
                              "options": result.options, **({"llm": llm.usage().as_dict()} if llm else {})}))
        else:
            for name, value in result.scores.items():
                print(f"{name:12s} {value:.4f}")
            print(f"pipeline     {label}")
            print(f"cost/query   {format_flops(result.cost.get('flops_per_query'))} FLOPs, "
                  f"{result.cost.get('seconds_per_query', 0.0):.3f} s")
            print(missing_line)
            if llm is not None:
                print(llm.usage().format())
    return 0


def _budget_sweep(args, ds, retriever, llm, task, options) -> int:
    from reasonir.cli._retrieval import pipeline_from_args
    from reasonir.evaluate import evaluate_retriever
    from reasonir.retrieve.compute import format_flops

    rows = {}
    baseline = evaluate_retriever(pipeline_from_args(args, retriever, llm, task=task, rewrite=False), ds, **options)
    rows["none"] = {"ndcg@10": baseline.scores["ndcg@10"], **_cost(baseline)}
    for budget in args.rewrite_budgets:
        result = evaluate_retriever(pipeline_from_args(args, retriever, llm, task=task, rewrite=True,
                                                       rewrite_budget=budget), ds, index=False, **options)
        rows[str(budget)] = {"ndcg@10": result.scores["ndcg@10"], **_cost(result)}
    if args.plot:
        from reasonir.evaluate.plots import plot_budget_curve

        curve = {int(b): r["ndcg@10"] for b, r in rows.items() if b != "none"}
        plot_budget_curve({args.retriever: curve}, args.plot, baselines={args.retriever: rows["none"]["ndcg@10"]},
                          title=f"{args.dataset}: nDCG@10 against the rewrite budget ({llm.model if llm else ''})")
    if args.output == "json":
        print(json.dumps({"retriever": args.retriever, "budgets": rows, "missing_queries": args.missing_queries}))
    else:
        print(f"{'budget':>8}  {'nDCG@10':>8}  {'FLOPs/query':>11}  {'s/query':>8}  {'gen tokens/q':>12}")
        for budget, r in rows.items():
            print(f"{budget:>8}  {r['ndcg@10']:8.4f}  {format_flops(r['flops_per_query']):>11}  "
                  f"{r['seconds_per_query']:8.3f}  {r['completion_tokens']:12.1f}")
        print(f"(--missing-queries {args.missing_queries}; 'none' = the retriever without rewriting)")
    return 0


def _cost(result) -> dict:
    rewrite = result.cost.get("by_stage", {}).get("rewrite", {})
    return {"flops_per_query": result.cost.get("flops_per_query"),
            "seconds_per_query": result.cost.get("seconds_per_query", 0.0),
            "completion_tokens": rewrite.get("completion_tokens", 0.0)}
