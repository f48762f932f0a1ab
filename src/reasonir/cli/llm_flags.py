"""The same ``--llm-*`` flags on every command that calls an LLM: argparse stays in the command line, and the LLM
layer gets an ``LLMConfig`` (``reasonir.llm.load_llm``).

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
    """The ``--llm-*`` flags; each default is ``LLMConfig``'s (or the config file's and environment's)."""
    d = LLMConfig
    g = parser.add_argument_group("LLM endpoint (unset: the embedded SmolLM2-135M; see docs/llm.md)")
    g.add_argument("--llm-base-url", help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1 (vLLM)")
    g.add_argument("--llm-model", help="model name as the endpoint knows it (default: its only model)")
    g.add_argument("--llm-api-key-env", help=f"environment variable holding the API key (default {d.api_key_env}; "
                                             "'none' for endpoints without authentication)")
    g.add_argument("--llm-concurrency", type=int, help=f"requests in flight at once (default {d.concurrency})")
    g.add_argument("--llm-timeout", type=float, help=f"seconds per attempt (default {d.timeout_s:g})")
    g.add_argument("--llm-max-retries", type=int,
                   help=f"retries on 429, 5xx, timeouts, dropped connections ({d.max_retries})")
    g.add_argument("--llm-cache", help="response cache file (default ~/.cache/reasonir/llm/responses.sqlite)")
    g.add_argument("--llm-no-cache", action="store_true", help="do not read or write the response cache")
    g.add_argument("--llm-prices", help="JSON/TOML price table, USD per 1M tokens: {model: {input, output}}")
    g.add_argument("--llm-context-window", type=int, help="override the context window the endpoint reports")
    g.add_argument("--llm-json-mode", choices=["auto", "json_schema", "json_object_schema", "json_object", "none"],
                   help="how to ask for JSON (default auto: json_schema, stepping down if refused)")
    g.add_argument("--llm-backend", choices=["openai", "vllm"], help="openai (any HTTP endpoint) or vllm (offline)")
    g.add_argument("--llm-embedded-engine", choices=list(get_args(Engine)),
                   help="engine of the embedded SmolLM2 (default auto: the one measured fastest on this kind of "
                        "CPU; ct2 and openvino run CTranslate2 or OpenVINO GenAI in this process, a seed's candidates "
                        "from one prompt pass)")


# flag (argparse dest) -> LLMConfig field; a flag left unset (None, or absent from the namespace) sets nothing
_FIELDS = {
    "llm_base_url": "base_url", "llm_model": "model", "llm_api_key_env": "api_key_env",
    "llm_concurrency": "concurrency", "llm_timeout": "timeout_s", "llm_max_retries": "max_retries",
    "llm_cache": "cache_path", "llm_prices": "prices", "llm_context_window": "context_window",
    "llm_json_mode": "json_mode", "llm_backend": "backend", "llm_embedded_engine": "embedded_engine",
}


def config_from_args(args: argparse.Namespace, *, environ: Mapping[str, str] | None = None) -> LLMConfig:
    """Flags over config file and environment over defaults."""
    return LLMConfig.resolve(flag_overrides(args), environ=environ)


def flag_overrides(args: argparse.Namespace) -> dict[str, object]:
    """The ``--llm-*`` flags a user set, as ``LLMConfig`` fields."""
    given = vars(args)
    overrides = {name: given[flag] for flag, name in _FIELDS.items() if given.get(flag) is not None}
    if given.get("llm_no_cache"):
        overrides["cache_path"] = ""
    return overrides


def llm_from_args(args: argparse.Namespace) -> BaseLLM:
    """``load_llm(config_from_args(args))``: checked, ready, a context manager."""
    from reasonir.llm.loader import load_llm

    return load_llm(config_from_args(args))
