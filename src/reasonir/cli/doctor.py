"""``reasonir doctor``: this machine's CPU, what reasonir runs on it, and whether each part works.

    reasonir doctor [--no-llm] [--no-encoder] [--output json]

Exit code 0 when every check passes, 1 when one fails (its line says what to do).
"""
from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check this machine: CPU units, backends chosen, a one-second encode and a "
                                      "smoke decode of the embedded LLM")
    p.add_argument("--no-encoder", action="store_true", help="skip loading the encoder")
    p.add_argument("--no-llm", action="store_true", help="skip starting the embedded LLM")
    p.add_argument("--output", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from reasonir.doctor import healthy, run_checks

    checks = []
    for check in run_checks(encoder=not args.no_encoder, llm=not args.no_llm):
        checks.append(check)
        if args.output == "text":
            print(check.line(), flush=True)
    if args.output == "json":
        print(json.dumps({"healthy": healthy(checks), "checks": [c.as_dict() for c in checks]}))
    return 0 if healthy(checks) else 1
