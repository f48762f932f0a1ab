"""``reasonir synthesize``: reasoning-intensive training rows (HQ and VL) with hard negatives from a corpus."""
from __future__ import annotations

import argparse
import json
import sys


def _pair(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition(",")
    try:
        pair = (int(lo), int(hi or lo))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN,MAX words, got {text!r}") from None
    if not 0 < pair[0] <= pair[1]:
        raise argparse.ArgumentTypeError(f"expected 0 < MIN <= MAX, got {text!r}")
    return pair


def _kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    if not kinds or set(kinds) - {"hq", "vl"}:
        raise argparse.ArgumentTypeError(f"expected hq, vl or hq,vl, got {text!r}")
    return kinds


def register(sub: argparse._SubParsersAction) -> None:
    from reasonir.llm.cli_args import add_llm_arguments

    p = sub.add_parser("synthesize", help="synthesize HQ/VL training rows with hard negatives from a corpus",
                       description="Write JSONL rows {query, pos, neg, instruction, kind, seed_id, meta}. Rerunning "
                                   "the same command after a crash continues where it stopped.")
    p.add_argument("corpus", help="a BEIR folder, a JSONL/parquet file of {_id|id, text|content[, title]}, "
                                  "or a folder of .txt/.md files")
    p.add_argument("--out", required=True, help="output JSONL (resumed when made by the same settings)")
    p.add_argument("--kinds", type=_kinds, default=("hq", "vl"), help="hq, vl or hq,vl (default both)")
    p.add_argument("--n", type=int, help="number of seed documents (default: all that pass)")
    p.add_argument("--min-score", type=float, help="keep seeds whose judge score (0-5) is at least this")
    p.add_argument("--judge", choices=["llm", "none"], default="llm", help="score seeds with the LLM (default)")
    p.add_argument("--hq-per-seed", type=int, default=1, help="HQ questions per seed (default 1)")
    p.add_argument("--vl-per-seed", type=int, default=1, help="VL examples per seed (default 1)")
    p.add_argument("--vl-words", type=_pair, default=(300, 2000), help="VL target length range, words (300,2000)")
    p.add_argument("--negatives", type=int, default=1, help="LLM-written hard negatives per row (default 1)")
    p.add_argument("--mined", type=int, default=2, help="corpus-mined hard negatives per row (default 2)")
    p.add_argument("--miner", choices=["bm25", "dense"], default="bm25")
    p.add_argument("--dense-model", help="encoder for --miner dense (default all-MiniLM-L6-v2)")
    p.add_argument("--skip-top", type=int, default=20, help="mined negatives skip this many top ranks (20)")
    p.add_argument("--window", type=int, default=30, help="... and come from the next this many (30)")
    p.add_argument("--margin", type=float, default=0.95, help="mined score <= margin x positive's (0.95)")
    p.add_argument("--roundtrip-k", type=int, help="keep a query only if its positive ranks in the top k")
    p.add_argument("--max-document-words", type=int, default=1000, help="truncate documents in prompts (1000)")
    p.add_argument("--max-tokens", type=int, help="cap every stage's answer budget (quick trials)")
    p.add_argument("--prompts", help="folder of prompt files replacing the packaged ones (same names)")
    p.add_argument("--seed", type=int, default=0, help="seed of every sampled choice (default 0)")
    p.add_argument("--max-chains", type=int, default=8, help="seed chains in flight at once (default 8)")
    p.add_argument("--export-hf", metavar="DIR", help="also save a Hugging Face dataset (anchor, positive, "
                                                      "negative_1..n) to DIR")
    p.add_argument("--resume", action="store_true", help="continue --out even if its settings differ")
    p.add_argument("--overwrite", action="store_true", help="replace --out and start again")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_llm_arguments(p)
    p.add_argument("--output", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace):
    from reasonir.synth.config import SynthConfig, cap_max_tokens

    cfg = SynthConfig(kinds=args.kinds, prompts_dir=args.prompts, seed=args.seed, max_chains=args.max_chains)
    cfg.seeds.n, cfg.seeds.min_score, cfg.seeds.judge = args.n, args.min_score, args.judge
    cfg.seeds.max_document_words = args.max_document_words
    cfg.hq.queries_per_seed, cfg.vl.examples_per_seed = args.hq_per_seed, args.vl_per_seed
    cfg.vl.length_words = args.vl_words
    neg = cfg.negatives
    neg.written, neg.mined, neg.miner, neg.dense_model = args.negatives, args.mined, args.miner, args.dense_model
    neg.skip_top, neg.window, neg.margin = args.skip_top, args.window, args.margin
    cfg.filters.roundtrip_k = args.roundtrip_k
    if args.max_tokens:
        cap_max_tokens(cfg, args.max_tokens)
    return cfg


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from reasonir.data import load_corpus
    from reasonir.llm.cli_args import llm_from_args
    from reasonir.synth import load_prompts, synthesize

    if args.resume and args.overwrite:
        print("error: --resume and --overwrite exclude each other", file=sys.stderr)
        return 2
    config = config_from_args(args)
    load_prompts(config.prompts_dir)  # a bad prompt folder fails before the LLM starts
    documents = load_corpus(args.corpus)
    with llm_from_args(args) as llm:
        report = synthesize(documents, llm, args.out, config, resume=args.resume, overwrite=args.overwrite,
                            progress=not args.quiet)
    if args.export_hf:
        from reasonir.data import export_hf, read_training_rows

        rows = read_training_rows(Path(args.out))
        n_neg = min((len(r.neg) for r in rows), default=0)
        export_hf(rows, args.export_hf, overwrite=args.overwrite, n_negatives=n_neg)
    if args.output == "json":
        print(json.dumps(report.as_dict()))
    else:
        print(report.format())
    print(f"rows: {args.out}  (state for resuming: {args.out}.synth/)", file=sys.stderr)
    return 0
