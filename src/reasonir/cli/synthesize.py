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
    """Flags default to None and then take the config dataclasses' defaults (defined once, in synth/config.py)."""
    from reasonir.cli._scale import add_backend_args
    from reasonir.cli.llm_flags import add_llm_arguments
    from reasonir.synth.config import FilterConfig, HQConfig, NegativeConfig, SeedConfig, SynthConfig, VLConfig

    p = sub.add_parser("synthesize", help="synthesize HQ/VL training rows with hard negatives from a corpus",
                       description="Write JSONL rows {query, pos, neg, instruction, kind, seed_id, meta}. Rerunning "
                                   "the same command after a crash continues where it stopped.")
    p.add_argument("corpus", help="a BEIR folder, a JSONL/parquet file of {_id|id, text|content[, title]}, "
                                  "or a folder of .txt/.md files")
    p.add_argument("--out", required=True, help="output JSONL (resumed when made by the same settings)")
    p.add_argument("--kinds", type=_kinds, help=f"hq, vl or hq,vl (default {','.join(SynthConfig.kinds)})")
    p.add_argument("--n", type=int, help="number of seed documents (default: all that pass)")
    p.add_argument("--min-score", type=float, help="keep seeds whose judge score (0-5) is at least this")
    p.add_argument("--judge", choices=["auto", "llm", "none"],
                   help=f"score seeds with the LLM (default {SeedConfig.judge}: only for capable models)")
    p.add_argument("--prompt-style", choices=["auto", "small", "structured"],
                   help=f"small: few-shot plain text for small local models; structured: JSON and an analysis turn "
                        f"(default {SynthConfig.prompt_style}: chosen from the model)")
    p.add_argument("--temperature", type=float, help=f"sampling temperature (default {SynthConfig.temperature})")
    p.add_argument("--top-p", type=float, help=f"nucleus sampling (default {SynthConfig.top_p})")
    p.add_argument("--candidates", type=int, help=f"HQ questions sampled per seed (default {HQConfig.candidates})")
    p.add_argument("--hq-per-seed", type=int,
                   help=f"HQ questions kept per seed, the best candidates (default {HQConfig.queries_per_seed})")
    p.add_argument("--vl-candidates", type=int, help=f"VL queries sampled per seed (default {VLConfig.candidates})")
    p.add_argument("--hq-seeds", type=int, help="HQ from the first N seeds only (default: every seed)")
    p.add_argument("--vl-seeds", type=int, help="VL from the first N seeds only (default: every seed)")
    p.add_argument("--vl-per-seed", type=int, help=f"VL examples kept per seed (default {VLConfig.examples_per_seed})")
    p.add_argument("--vl-words", type=_pair, help="VL target length range in words (default "
                                                  f"{','.join(map(str, VLConfig.length_words))}; scaled to the window)")
    p.add_argument("--negatives", type=int, help=f"LLM-written hard negatives per row (default {NegativeConfig.written})")
    p.add_argument("--mined", type=int, help=f"corpus-mined hard negatives per row (default {NegativeConfig.mined})")
    p.add_argument("--miner", choices=["bm25", "dense"],
                   help=f"corpus ranker for mining, round-trip and false-negative checks (default {NegativeConfig.miner})")
    p.add_argument("--dense-model", help="encoder for --miner dense (default all-MiniLM-L6-v2)")
    p.add_argument("--skip-top", type=int, help=f"mined negatives skip this many top ranks ({NegativeConfig.skip_top})")
    p.add_argument("--window", type=int, help=f"... and come from the next this many ({NegativeConfig.window})")
    p.add_argument("--margin", type=float, help=f"negative score < margin x positive's ({NegativeConfig.margin})")
    p.add_argument("--roundtrip-k", type=int, help="keep a query only if its positive ranks in the top k "
                                                   f"(default {FilterConfig.roundtrip_k}; 0 switches it off)")
    p.add_argument("--max-document-words", type=int,
                   help=f"truncate documents in prompts (default {SeedConfig.max_document_words})")
    p.add_argument("--max-tokens", type=int, help="cap every stage's answer budget (quick trials)")
    p.add_argument("--prompts", help="folder of prompt files replacing the packaged ones of the chosen style")
    p.add_argument("--seed", type=int, help=f"seed of every sampled choice (default {SynthConfig.seed})")
    p.add_argument("--max-chains", type=int, help=f"seeds in flight at once (default {SynthConfig.max_chains})")
    p.add_argument("--dev-share", type=float,
                   help=f"share of seeds set aside as unselected pseudo-dev rows that judge models, never trained on "
                        f"(default {SynthConfig.dev_share}; only with at least {SynthConfig.dev_min_seeds} dev seeds; "
                        f"0: none)")
    p.add_argument("--judge-rows", action="store_true", default=None,
                   help="also write every clean candidate of a training seed as a judge row (split judge, never "
                        "trained on): label-free queries that judge models trained without their seed")
    p.add_argument("--export-hf", metavar="DIR", help="also save a Hugging Face dataset (anchor, positive, "
                                                      "negative_1..n) to DIR")
    p.add_argument("--resume", action="store_true", help="continue --out even if its settings differ")
    p.add_argument("--overwrite", action="store_true", help="replace --out and start again")
    p.add_argument("--quiet", action="store_true", help="no progress bars (ours or the model libraries')")
    add_llm_arguments(p)
    add_backend_args(p, "every LLM call on Ray actors, each with its own client (vLLM engine: one GPU each); "
                        "selection and the output files stay in this process")
    p.add_argument("--output", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


# flag -> (config section, field); None section = SynthConfig itself
_FIELDS = {
    "kinds": (None, "kinds"), "prompts": (None, "prompts_dir"), "seed": (None, "seed"),
    "max_chains": (None, "max_chains"), "dev_share": (None, "dev_share"), "judge_rows": (None, "judge_rows"),
    "prompt_style": (None, "prompt_style"),
    "temperature": (None, "temperature"),
    "top_p": (None, "top_p"), "n": ("seeds", "n"), "min_score": ("seeds", "min_score"), "judge": ("seeds", "judge"),
    "max_document_words": ("seeds", "max_document_words"), "candidates": ("hq", "candidates"),
    "hq_per_seed": ("hq", "queries_per_seed"), "vl_candidates": ("vl", "candidates"),
    "vl_per_seed": ("vl", "examples_per_seed"),
    "hq_seeds": ("hq", "max_seeds"), "vl_seeds": ("vl", "max_seeds"), "vl_words": ("vl", "length_words"),
    "negatives": ("negatives", "written"), "mined": ("negatives", "mined"), "miner": ("negatives", "miner"),
    "dense_model": ("negatives", "dense_model"), "skip_top": ("negatives", "skip_top"),
    "window": ("negatives", "window"), "margin": ("negatives", "margin"), "roundtrip_k": ("filters", "roundtrip_k"),
}


def config_from_args(args: argparse.Namespace):
    from reasonir.synth.config import SynthConfig, cap_max_tokens

    cfg = SynthConfig()
    for flag, (section, name) in _FIELDS.items():
        value = getattr(args, flag, None)
        if value is not None:
            setattr(getattr(cfg, section) if section else cfg, name, value)
    if cfg.filters.roundtrip_k == 0:
        cfg.filters.roundtrip_k = None
    if args.max_tokens:
        cap_max_tokens(cfg, args.max_tokens)
    return cfg


def run(args: argparse.Namespace) -> int:
    from contextlib import ExitStack
    from pathlib import Path

    from reasonir.data import load_corpus
    from reasonir.cli.llm_flags import llm_from_args
    from reasonir.synth import synthesize
    from reasonir.synth.prompts import check_prompt_folder

    if args.resume and args.overwrite:
        print("error: --resume and --overwrite exclude each other", file=sys.stderr)
        return 2
    config = config_from_args(args)
    if args.quiet:
        from reasonir.logs import silence_progress_bars

        silence_progress_bars()
    check_prompt_folder(config.prompts_dir, config.prompt_style)  # a bad prompt folder fails before the LLM starts
    documents = load_corpus(args.corpus)
    with ExitStack() as stack:
        if args.backend == "ray":
            from reasonir.cli.llm_flags import config_from_args as llm_config
            from reasonir.scale.cluster import ray_session
            from reasonir.scale.llm_pool import RayLLMPool

            stack.enter_context(ray_session(args.ray_address, num_cpus=args.workers))
            llm = stack.enter_context(RayLLMPool(llm_config(args), args.workers))
        else:
            llm = stack.enter_context(llm_from_args(args))
        report = synthesize(documents, llm, args.out, config, resume=args.resume, overwrite=args.overwrite,
                            progress=not args.quiet)
    if args.export_hf:
        from reasonir.data import export_hf, read_training_rows

        rows = [r for r in read_training_rows(Path(args.out)) if not r.is_dev]  # judge and dev rows train nothing
        n_neg = min((len(r.neg) for r in rows), default=0)
        export_hf(rows, args.export_hf, overwrite=args.overwrite, n_negatives=n_neg)
    if args.output == "json":
        print(json.dumps(report.as_dict()))
    else:
        print(report.format())
    print(f"rows: {args.out}  (state for resuming: {args.out}.synth/)", file=sys.stderr)
    return 0
