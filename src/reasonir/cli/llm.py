"""``reasonir llm``: check the LLM configuration, or send one prompt.

    reasonir llm check [--output json]            # resolve config, ping the endpoint, print model and context window
    reasonir llm chat "prompt" [--json-schema FILE] [--output json]
    reasonir llm build-server [--force] [--if-default]  # build llama.cpp's llama-server for the embedded SmolLM2
    reasonir llm probe-engines                    # measure the embedded engines here; auto then uses the winner

Both take the ``--llm-*`` flags (see ``reasonir.cli.llm_flags``); misconfiguration exits with code 3.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from reasonir.llm.native import BUILD_PROFILES, DEFAULT_PROFILE


def register(sub: argparse._SubParsersAction) -> None:
    from reasonir.cli.llm_flags import add_llm_arguments

    p = sub.add_parser("llm", help="check the LLM endpoint or send one prompt")
    llm_sub = p.add_subparsers(dest="llm_command", required=True)

    check = llm_sub.add_parser("check", help="resolve the LLM configuration and ping the endpoint")
    add_llm_arguments(check)
    check.add_argument("--output", choices=["text", "json"], default="text")
    check.set_defaults(func=run_check)

    chat = llm_sub.add_parser("chat", help="send one prompt and print the answer")
    chat.add_argument("prompt", help="the user message")
    chat.add_argument("--system", help="a system message")
    chat.add_argument("--json-schema", metavar="FILE", help="JSON schema file: ask for JSON and validate against it")
    chat.add_argument("--max-tokens", type=int, default=256)
    chat.add_argument("--temperature", type=float, default=0.0)
    add_llm_arguments(chat)
    chat.add_argument("--output", choices=["text", "json"], default="text")
    chat.set_defaults(func=run_chat)

    build = llm_sub.add_parser("build-server", help="build llama.cpp's llama-server (the embedded LLM's engine) for "
                                                    "this CPU, smoke-test it, and install it in the virtualenv")
    build.add_argument("--profile", choices=BUILD_PROFILES, default=DEFAULT_PROFILE,
                       help="native: tuned for this CPU without llama.cpp's AMX kernels (default); native-amx: with "
                            "them (must pass the smoke test); portable: no -march=native (the fallback)")
    build.add_argument("--force", action="store_true", help="rebuild even if the binary is current or cached")
    build.add_argument("--if-default", action="store_true",
                       help="build only where --llm-embedded-engine auto runs llama-server on this CPU (no bf16 "
                            "units, or no OpenVINO GenAI); elsewhere say so and exit 0 (make install)")
    build.add_argument("--log", help="append the build's output to this file")
    build.add_argument("--output", choices=["text", "json"], default="text")
    build.set_defaults(func=run_build_server)

    probe = llm_sub.add_parser("probe-engines", help="measure the embedded LLM's engines on this machine (1-5 "
                                                     "minutes) and keep the verdict that --llm-embedded-engine auto "
                                                     "follows")
    probe.add_argument("--engines", help="comma-separated (default: llama-server, ct2 and openvino where they can start)")
    probe.add_argument("--output", choices=["text", "json"], default="text")
    probe.set_defaults(func=run_probe_engines)


def run_probe_engines(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from reasonir.llm.engine_probe import measure_and_keep, verdict_path

    verdict = measure_and_keep(args.engines.split(",") if args.engines else None)
    if args.output == "json":
        print(json.dumps(asdict(verdict)))
    else:
        rates = ", ".join(f"{e} {r:.2f}" for e, r in verdict.rates.items())
        print(f"auto -> {verdict.engine}: {verdict.reason} (candidates/s: {rates}); kept in {verdict_path(verdict.key)}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from reasonir.cli.llm_flags import config_from_args
    from reasonir.llm.loader import load_llm

    config = config_from_args(args)
    with load_llm(config) as llm:
        info = {"backend": config.backend, "base_url": getattr(llm, "base_url", None),
                "embedded": config.base_url is None and config.backend == "openai", "model": llm.model,
                "context_window": getattr(llm, "context_window", None), "config": config.as_dict()}
    if args.output == "json":
        print(json.dumps(info))
    else:
        where = f"{info['base_url']}{' (embedded)' if info['embedded'] else ''}"
        print(f"ok: {info['model']} at {where}, context window {info['context_window'] or 'unknown'}")
    return 0


def run_chat(args: argparse.Namespace) -> int:
    from reasonir.data.errors import DataError
    from reasonir.cli.llm_flags import llm_from_args
    from reasonir.llm.types import ChatRequest, Sampling

    schema = None
    if args.json_schema:
        with open(args.json_schema, encoding="utf-8") as f:
            try:
                schema = json.load(f)
            except json.JSONDecodeError as exc:
                raise DataError(args.json_schema, exc.lineno, None, f"not valid JSON: {exc.msg}") from None
    request = ChatRequest.user(args.prompt, system=args.system, json_schema=schema, tag="cli.chat",
                               sampling=Sampling(temperature=args.temperature, max_tokens=args.max_tokens))
    with llm_from_args(args) as llm:
        result = llm.chat(request)
        usage = llm.usage()
    if args.output == "json":
        print(json.dumps({"text": result.text, "parsed": result.parsed, "error": result.error, "cached": result.cached,
                          "model": llm.model, "usage": usage.as_dict()}))
    else:
        print(result.text if result.text is not None else "")
        if result.error:
            print(f"error: {result.error}", file=sys.stderr)
    print(usage.format(), file=sys.stderr)
    return 0 if result.ok else 1


def run_build_server(args: argparse.Namespace) -> int:
    from reasonir.llm.embedded import smoke_decode
    from reasonir.llm.engines import llama_server_not_needed
    from reasonir.llm.native import BINARY, build_cache, build_llama_server, find_llama_server

    # a binary here or in this machine's build cache costs nothing; only a compile is skipped
    if (args.if_default and not args.force and find_llama_server() is None
            and not (build_cache(args.profile) / BINARY).is_file()
            and (skipped := llama_server_not_needed()) is not None):
        why = f"not built: {skipped} (about 15 CPU-minutes)"
        print(json.dumps({"built": False, "reason": why}) if args.output == "json" else f"llama-server {why}")
        return 0
    result = build_llama_server(profile=args.profile, force=args.force, log_file=Path(args.log) if args.log else None,
                                smoke_test=smoke_decode)
    if args.output == "json":
        print(json.dumps(result.as_dict()))
        return 0
    if result.fell_back_from:
        print(f"the {result.fell_back_from}: rebuilt with the {result.profile} profile", file=sys.stderr)
    how = {"current": "already built", "cache": "copied from this machine's build cache",
           "compiled": "compiled, smoke test passed"}[result.how]
    print(f"llama-server ({result.profile}, {how}): {result.binary}")
    return 0
