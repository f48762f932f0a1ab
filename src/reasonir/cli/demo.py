"""``reasonir demo``: the whole pipeline (synthesize, train, evaluate) on the bundled sample or your dataset."""
from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    from reasonir.demo import DemoConfig
    from reasonir.cli.llm_flags import add_llm_arguments

    p = sub.add_parser("demo", help="synthesize, train and evaluate end to end (the main job)",
                       description="Synthesize training rows from the dataset's documents with an LLM, fine-tune "
                                   "all-MiniLM-L6-v2 on them, and compare BM25, the base and the fine-tuned encoder.")
    p.add_argument("--dataset", help="BEIR folder or bright:TASK spec (default: the bundled SciFact sample)")
    p.add_argument("--workdir", default="demo-output", help="where rows, model and results.json go")
    defaults = DemoConfig()
    p.add_argument("--hq-seeds", type=int, default=defaults.hq_seeds, help="seed documents for HQ rows")
    p.add_argument("--hq-candidates", type=int, default=defaults.hq_candidates,
                   help="HQ questions sampled per seed, the best kept")
    p.add_argument("--vl-seeds", type=int, default=defaults.vl_seeds, help="seed documents for VL rows")
    p.add_argument("--epochs", type=float, default=defaults.epochs)
    p.add_argument("--base-model", help="encoder to fine-tune (default all-MiniLM-L6-v2)")
    p.add_argument("--retrain", action="store_true", help="train again even if WORKDIR/model exists")
    p.add_argument("--no-label", dest="label", action="store_false",
                   help="train on the rows' own labels, without the teacher's scores")
    add_llm_arguments(p)
    p.add_argument("--output", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from reasonir.demo import DemoConfig, run_demo
    from reasonir.cli.llm_flags import llm_from_args

    config = DemoConfig(workdir=args.workdir, hq_seeds=args.hq_seeds, hq_candidates=args.hq_candidates,
                        vl_seeds=args.vl_seeds, epochs=args.epochs,
                        base_model=args.base_model, retrain=args.retrain, label=args.label)
    if args.dataset:
        config.dataset = args.dataset
    from pathlib import Path

    from reasonir.logs import quiet_third_party

    Path(config.workdir).mkdir(parents=True, exist_ok=True)
    quiet_third_party(Path(config.workdir) / "demo.log")
    with llm_from_args(args) as llm:
        result = run_demo(config, llm)
    if args.output == "json":
        print(json.dumps(result.as_dict()))
    else:
        print(result.usage)
        print(result.table.to_text())
        print("seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in result.seconds.items()))
    return 0
