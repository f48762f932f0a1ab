"""``reasonir demo``: ``reasonir adapt`` on the bundled sample (or your BEIR folder) with sizes for a 5-minute run
(2 cores with bf16 units), evaluated on its labelled queries."""
from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    from reasonir.demo import DemoConfig
    from reasonir.cli.llm_flags import add_llm_arguments

    defaults = DemoConfig()
    p = sub.add_parser("demo", help="adapt the bundled sample and compare before and after (the main job)",
                       description="reasonir adapt on a BEIR folder's corpus (default: the bundled SciFact sample) "
                                   "with smaller sizes, then BM25, the base encoder, every trained candidate and "
                                   "the handed-back model on its labelled queries.")
    p.add_argument("--dataset", help="BEIR folder (default: the bundled SciFact sample)")
    p.add_argument("--workdir", default=str(defaults.workdir), help="the adapt output folder")
    p.add_argument("--seeds", type=int, default=defaults.seeds, help="seed documents")
    p.add_argument("--hq-candidates", type=int, default=defaults.hq_candidates,
                   help="HQ questions sampled per seed, the best kept")
    p.add_argument("--vl-seeds", type=int, default=defaults.vl_seeds, help="seed documents for VL rows")
    p.add_argument("--base-model", help="encoder to fine-tune (default all-MiniLM-L6-v2)")
    p.add_argument("--overwrite", action="store_true", help="start again instead of resuming WORKDIR")
    add_llm_arguments(p)
    p.add_argument("--output", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from reasonir.demo import DemoConfig, run_demo
    from reasonir.cli.llm_flags import config_from_args
    from reasonir.logs import quiet_third_party

    config = DemoConfig(workdir=args.workdir, seeds=args.seeds, hq_candidates=args.hq_candidates,
                        vl_seeds=args.vl_seeds, base_model=args.base_model, llm=config_from_args(args))
    if args.dataset:
        config.dataset = args.dataset
    Path(config.workdir).mkdir(parents=True, exist_ok=True)
    quiet_third_party(Path(config.workdir) / "demo.log")
    result = run_demo(config, overwrite=args.overwrite)
    if args.output == "json":
        print(json.dumps(result.report, default=str))
        return 0
    stages = result.report["stages"]
    print(f"\nhanded back: {result.chosen}. {result.reason}")
    train = stages["train"]["summary"]
    if train.get("candidates"):
        top = sorted(train["candidates"], key=lambda c: c["judge"], reverse=True)[:3]
        print(f"judge evidence: {train['judge_queries']} synthesized queries from {train['judge_seeds']} seeds, "
              f"cross-fitted over {train['folds']} folds; base encoder {train['base_judge']:.4f}; best: "
              + ", ".join(f"{c['name']} {c['judge']:.4f} ({c['judge_change']:+.4f}, 95% CI {c['judge_ci95'][0]:+.4f}"
                          f" to {c['judge_ci95'][1]:+.4f})" for c in top)
              + f"; report.md lists all {len(train['candidates'])}")
    evaluation = stages["evaluate"]["summary"]
    print(evaluation["text"])
    print(evaluation["line"])
    print("seconds: " + ", ".join(f"{name} {stage['seconds']:.0f}" for name, stage in stages.items())
          + f"; report: {result.out / 'report.md'}")
    return 0
