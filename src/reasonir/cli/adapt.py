"""``reasonir adapt``: your corpus in, a retriever better on it out (synthesize, label, train, index, report).

    reasonir adapt CORPUS --out DIR [--eval QRELS_DIR] [--seeds N] [--budget-minutes M] [--config adapt.toml]
    reasonir serve DIR

Settings: the stages' defaults, then ``--config FILE`` (TOML, any subset; ``DIR/adapt.toml`` holds every setting of
a run), then the flags. Rerunning the same command resumes; ``--overwrite`` starts again.
"""
from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    from reasonir.adapt.config import AdaptConfig
    from reasonir.cli.llm_flags import add_llm_arguments

    defaults = AdaptConfig()
    p = sub.add_parser("adapt", help="synthesize, label, train and index for your own corpus, resumably",
                       description="Turn a corpus into a retriever fine-tuned on it: synthesize training rows with an "
                                   "LLM, label them with a teacher, train the candidate recipes, hand back the one "
                                   "that beats the base on held-out synthesized queries (or the base), index it.")
    p.add_argument("corpus", nargs="?", help="a BEIR folder, a JSONL/parquet file of {_id|id, text[, title]}, or a "
                                             "folder of .txt/.md files (or set corpus in --config)")
    p.add_argument("--out", required=True, help="where rows, candidates, model/, index/ and the report go")
    p.add_argument("--config", help="a TOML file of settings (DIR/adapt.toml of an earlier run reproduces it)")
    p.add_argument("--eval", "--queries", dest="eval",
                   help="labelled queries (a BEIR folder or bright:TASK) for a before/after table")
    p.add_argument("--eval-split", help=f"qrels split of --eval (default {defaults.eval_split})")
    p.add_argument("--ignore-identical-ids", action="store_true", default=None,
                   help="BEIR's rule for --eval sets whose queries are corpus documents")
    p.add_argument("--seeds", type=int, help="seed documents (default: every one the time budget allows)")
    p.add_argument("--budget-minutes", type=float,
                   help="bound the run: synthesis stops taking seeds at 60%% of it (default: no limit)")
    p.add_argument("--recipes", help=f"candidates to train (default {','.join(defaults.recipes)})")
    p.add_argument("--merges", help="shares of the base weights merged back into each candidate (default "
                                    f"{','.join(f'{m:g}' for m in defaults.merges)})")
    p.add_argument("--base-model", help="encoder to fine-tune (default all-MiniLM-L6-v2)")
    p.add_argument("--overwrite", action="store_true", help="start again in DIR, deleting its earlier run")
    p.add_argument("--quiet", action="store_true", help="no progress bars (ours or the model libraries')")
    add_llm_arguments(p)
    p.add_argument("--output", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace):
    """Defaults < ``--config`` < flags."""
    import dataclasses

    from reasonir.adapt.config import AdaptConfig
    from reasonir.cli.llm_flags import config_from_args as llm_config
    from reasonir.cli.llm_flags import flag_overrides

    config = AdaptConfig.read(args.config) if args.config else AdaptConfig()
    for flag, name in (("corpus", "corpus"), ("eval", "eval"), ("eval_split", "eval_split"), ("seeds", "seeds"),
                       ("budget_minutes", "budget_minutes"), ("base_model", "base_model"),
                       ("ignore_identical_ids", "ignore_identical_ids")):
        if getattr(args, flag) is not None:
            setattr(config, name, getattr(args, flag))
    if args.recipes:
        config.recipes = tuple(r.strip() for r in args.recipes.split(",") if r.strip())
    if args.merges:
        config.merges = tuple(float(m) for m in args.merges.split(","))
    config.__post_init__()  # the flags' values checked like the file's
    if not config.corpus:
        raise ValueError("name the corpus: reasonir adapt CORPUS --out DIR (or corpus = ... in --config)")
    # the LLM: the file's [llm] table under the flags; without a file, the usual resolution (defaults, the user's
    # llm.toml, REASONIR_LLM_*, flags) as for every command
    config.llm = (dataclasses.replace(config.llm, **flag_overrides(args)) if args.config else llm_config(args))
    return config


def run(args: argparse.Namespace) -> int:
    from reasonir.adapt import adapt

    config = config_from_args(args)
    if args.quiet:
        from reasonir.logs import silence_progress_bars

        silence_progress_bars()
    log = (lambda message: print(message, file=sys.stderr)) if args.output == "json" else print
    result = adapt(config, args.out, overwrite=args.overwrite, progress=not args.quiet, log=log)
    if args.output == "json":
        print(json.dumps(result.report, default=str))
        return 0
    print(f"\nhanded back: {result.chosen}. {result.reason}")
    evaluation = result.report["stages"].get("evaluate")
    if evaluation:
        print(evaluation["summary"]["text"])
    print(f"model: {result.model}\nindex: {result.index}\nreport: {result.out / 'report.md'}"
          + (f" and {result.report['picture']}" if result.report.get("picture") else ""))
    print(f"serve it: reasonir serve {result.out}\nreproduce: {result.report['reproduce']}")
    return 0
