"""``reasonir rag``: answer multiple-choice questions closed-book and with retrieval from an index; report both."""
from __future__ import annotations

import argparse
import json
import random
import sys
from typing import Any

MODES = ("closed-book", "retrieval")


def register(sub: argparse._SubParsersAction) -> None:
    from reasonir.rag.runner import RAGConfig

    from reasonir.cli._retrieval import add_pipeline_arguments

    p = sub.add_parser("rag", help="retrieval-augmented QA: accuracy closed-book vs with retrieval",
                       description="Answer MMLU / GPQA / JSONL questions or SciFact claims with an LLM, without and "
                                   "with the top-k documents of a reasonir index, and compare.")
    p.add_argument("--questions", required=True,
                   help="question file or folder: MMLU CSV (with header, or the original header-less A-D layout) or "
                        "a folder of them, GPQA CSV, JSONL {question, choices, answer}, SciFact claims CSV or zip")
    p.add_argument("--format", choices=["auto", "mmlu", "mmlu-original", "gpqa", "jsonl", "scifact"], default="auto")
    p.add_argument("--split", default="validation", help="SciFact zip: which claims_SPLIT.csv (default validation)")
    p.add_argument("--subjects", help="comma-separated subjects to keep (MMLU: file names without _test)")
    p.add_argument("--limit", type=int, help="answer a seeded random sample of this many questions")
    p.add_argument("--seed", type=int, default=0, help="GPQA option shuffle and --limit sample (default 0)")
    p.add_argument("--index", help="datastore: an index folder made by `reasonir index` (needed for retrieval)")
    p.add_argument("--model", help="query encoder for a dense/hybrid index (default: the one it was built with)")
    p.add_argument("--k", type=int, default=RAGConfig.k, help=f"documents per question (default {RAGConfig.k})")
    p.add_argument("--doc-chars", type=int, default=RAGConfig.doc_chars,
                   help=f"per-document length cap in characters ({RAGConfig.doc_chars})")
    p.add_argument("--cot", action="store_true", help="ask for step-by-step reasoning before the answer")
    p.add_argument("--modes", default=None,
                   help="comma-separated: closed-book,retrieval (default both with --index, closed-book without)")
    p.add_argument("--records", default="rag-records.jsonl",
                   help="per-question records, appended and resumed (default rag-records.jsonl)")
    p.add_argument("--prompts", help="folder of replacement prompt files (see src/reasonir/rag/prompts/)")
    p.add_argument("--output", choices=["text", "json"], default="text")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_pipeline_arguments(p)  # --rewrite/--rerank for the retrieval side, and the --llm-* flags (one LLM for all)
    p.set_defaults(func=run)


def _pipeline(retriever: Any, args: argparse.Namespace, llm: Any) -> Any:
    """The retrieval pipeline the flags describe (rewriting and reranking use the reader's LLM)."""
    from reasonir.cli._retrieval import pipeline_from_args

    return pipeline_from_args(args, retriever, llm)


def run(args: argparse.Namespace) -> int:
    from reasonir.cli.llm_flags import llm_from_args
    from reasonir.rag import Datastore, RAGConfig, answer_questions, load_prompts, load_questions

    modes = tuple(m.strip() for m in args.modes.split(",")) if args.modes else (
        MODES if args.index else ("closed-book",))
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        print(f"error: --modes takes {','.join(MODES)}; got {args.modes!r}", file=sys.stderr)
        return 2
    if "retrieval" in modes and not args.index:
        print("error: retrieval needs --index DIR (an index made by `reasonir index`)", file=sys.stderr)
        return 2
    if args.k < 1 or args.doc_chars < 1 or (args.limit is not None and args.limit < 1):
        print("error: --k, --doc-chars and --limit must be positive", file=sys.stderr)
        return 2
    prompts = load_prompts(args.prompts)
    loaded = load_questions(args.questions, format=args.format, seed=args.seed, split=args.split)
    questions = loaded.questions
    if args.subjects:
        wanted = {s.strip() for s in args.subjects.split(",")}
        unknown = wanted - {q.subject for q in questions}
        if unknown:
            print(f"error: no questions for subject(s) {sorted(unknown)} in {args.questions}", file=sys.stderr)
            return 2
        questions = [q for q in questions if q.subject in wanted]
    if args.limit is not None and args.limit < len(questions):
        questions = sorted(random.Random(args.seed).sample(questions, args.limit), key=lambda q: q.id)
    datastore = None
    if "retrieval" in modes:
        from reasonir.retrieve import load_index

        kwargs: dict[str, Any] = {"show_progress": False}
        if args.model:
            kwargs["model"] = args.model
        retriever = load_index(args.index, **({} if _is_bm25(args.index) else kwargs))
    config = RAGConfig(k=args.k, doc_chars=args.doc_chars, chain_of_thought=args.cot,
                       modes=modes)  # type: ignore[arg-type]
    with llm_from_args(args) as llm:
        if "retrieval" in modes:
            datastore = Datastore.from_index(args.index, searcher=_pipeline(retriever, args, llm))
        report = answer_questions(questions, llm, datastore=datastore, config=config, records=args.records,
                                  prompts=prompts, progress=not args.no_progress and args.output == "text")
        print(llm.usage().format(), file=sys.stderr)
    report.settings.update(questions_source=loaded.source, questions_format=loaded.format, skipped=loaded.skipped)
    if args.output == "json":
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        print(f"questions: {loaded.source} ({loaded.format}"
              + (f"; skipped {loaded.skipped}" if any(loaded.skipped.values()) else "") + ")")
        print(report.to_text())
        print(f"records: {args.records} ({report.run['answered']} new, {report.run['resumed']} resumed, "
              f"{report.run['failed']} without an answer: rerun to retry them)")
    return 1 if report.run["failed"] else 0


def _is_bm25(folder: str) -> bool:
    from reasonir.retrieve.store import read_manifest

    return read_manifest(folder)["kind"] == "bm25"
