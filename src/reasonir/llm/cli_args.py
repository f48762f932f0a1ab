"""The same ``--llm-*`` flags on every command that calls an LLM.

    parser = argparse.ArgumentParser()
    add_llm_arguments(parser)
    args = parser.parse_args([...])
    with llm_from_args(args) as llm:
        ...
        print(llm.usage().format(), file=sys.stderr)

Flags left unset fall through to ``~/.config/reasonir/llm.toml`` and ``REASONIR_LLM_*`` (see ``LLMConfig.resolve``).

Example:
    >>> import argparse
    >>> p = argparse.ArgumentParser(); add_llm_arguments(p)
    >>> config_from_args(p.parse_args(["--llm-base-url", "http://localhost:8000/v1", "--llm-concurrency", "32"]),
    ...                  environ={}).concurrency
    32
"""
from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import get_args

from reasonir.llm.base import BaseLLM
from reasonir.llm.config import LLMConfig
from reasonir.llm.embedded import Engine


def add_llm_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("LLM endpoint (unset: the embedded SmolLM2-135M; see docs/llm.md)")
    g.add_argument("--llm-base-url", help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1 (vLLM)")
    g.add_argument("--llm-model", help="model name as the endpoint knows it (default: its only model)")
    g.add_argument("--llm-api-key-env", help="environment variable holding the API key (default OPENAI_API_KEY; "
                                             "'none' for endpoints without authentication)")
    g.add_argument("--llm-concurrency", type=int, help="requests in flight at once (default 8)")
    g.add_argument("--llm-timeout", type=float, help="seconds per attempt (default 120)")
    g.add_argument("--llm-max-retries", type=int, help="retries on 429, 5xx, timeouts, dropped connections (6)")
    g.add_argument("--llm-cache", help="response cache file (default ~/.cache/reasonir/llm/responses.sqlite)")
    g.add_argument("--llm-no-cache", action="store_true", help="do not read or write the response cache")
    g.add_argument("--llm-prices", help="JSON/TOML price table, USD per 1M tokens: {model: {input, output}}")
    g.add_argument("--llm-context-window", type=int, help="override the context window the endpoint reports")
    g.add_argument("--llm-json-mode", choices=["auto", "json_schema", "json_object_schema", "json_object", "none"],
                   help="how to ask for JSON (default auto: json_schema, stepping down if refused)")
    g.add_argument("--llm-backend", choices=["openai", "vllm"], help="openai (any HTTP endpoint) or vllm (offline)")
    g.add_argument("--llm-embedded-engine", choices=list(get_args(Engine)),
                   help="server of the embedded SmolLM2 (default auto: llama.cpp's llama-server, batched)")


def config_from_args(args: argparse.Namespace, *, environ: Mapping[str, str] | None = None) -> LLMConfig:
    """Flags over config file and environment over defaults."""
    return LLMConfig.resolve(flag_overrides(args), environ=environ)


def flag_overrides(args: argparse.Namespace) -> dict[str, object]:
    """The ``--llm-*`` flags a user set, as ``LLMConfig`` fields."""
    overrides = {
        "base_url": getattr(args, "llm_base_url", None),
        "model": getattr(args, "llm_model", None),
        "api_key_env": getattr(args, "llm_api_key_env", None),
        "concurrency": getattr(args, "llm_concurrency", None),
        "timeout_s": getattr(args, "llm_timeout", None),
        "max_retries": getattr(args, "llm_max_retries", None),
        "cache_path": "" if getattr(args, "llm_no_cache", False) else getattr(args, "llm_cache", None),
        "prices": getattr(args, "llm_prices", None),
        "context_window": getattr(args, "llm_context_window", None),
        "json_mode": getattr(args, "llm_json_mode", None),
        "backend": getattr(args, "llm_backend", None),
        "embedded_engine": getattr(args, "llm_embedded_engine", None),
    }
    return {k: v for k, v in overrides.items() if v is not None}


def llm_from_args(args: argparse.Namespace) -> BaseLLM:
    """``load_llm(config_from_args(args))``: checked, ready, a context manager."""
    from reasonir.llm.loader import load_llm

    return load_llm(config_from_args(args))
