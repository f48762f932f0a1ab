"""Where the LLM lives and how to talk to it: ``LLMConfig``, resolved from defaults, a file, the environment, flags.

Layers, later ones win:

1. the defaults below (``base_url=None`` means the embedded SmolLM2 server, see ``reasonir.llm.embedded``);
2. ``~/.config/reasonir/llm.toml`` (or the file named by ``$REASONIR_LLM_CONFIG``), keys named as the fields;
3. ``REASONIR_LLM_<FIELD>`` environment variables (``REASONIR_LLM_BASE_URL``, ``REASONIR_LLM_MODEL``, ...);
4. command-line flags (``--llm-base-url`` ..., see ``reasonir.cli.llm_flags``).

The API key is read from the environment variable named by ``api_key_env`` (or ``api_key`` in the config file).
It is kept out of ``repr``, ``as_dict``, logs, outputs and the cache key.

Example:
    >>> cfg = LLMConfig(base_url="http://localhost:8000/v1", model="Qwen/Qwen2.5-7B-Instruct", concurrency=32)
    >>> cfg.is_local
    True
    >>> "api_key" in cfg.as_dict()
    False
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from reasonir.llm.embedded import DEFAULT_PARALLEL, Engine
from reasonir.llm.errors import LLMConfigError, MissingKeyError
from reasonir.llm.hf_convert import Dtype
from reasonir.paths import cache_root

JsonMode = Literal["auto", "json_schema", "json_object_schema", "json_object", "none"]
Backend = Literal["openai", "vllm"]
ENV_PREFIX = "REASONIR_LLM_"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})


def default_cache_path() -> Path:
    return cache_root() / "llm" / "responses.sqlite"


def config_file_path() -> Path:
    explicit = os.environ.get("REASONIR_LLM_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "reasonir" / "llm.toml"


@dataclass
class LLMConfig:
    """Settings of the LLM layer.

    ``base_url=None`` starts the embedded SmolLM2-135M-Instruct server (proves a pipeline runs; data quality needs a
    larger model). ``model=None`` with a URL takes the endpoint's only model. ``cache_path=""`` disables the cache.
    ``prices`` is a path to a JSON/TOML price table merged over the shipped one (``reasonir.llm.prices``).
    """

    base_url: str | None = None
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"  # the OpenAI client's own convention
    concurrency: int = 8  # in-flight requests; raise it for vLLM/SGLang (they batch), keep it low for rate-limited APIs
    timeout_s: float = 120.0  # per attempt; a 512-token answer from a slow hosted model fits well inside
    max_retries: int = 6  # with backoff 0.5 s doubling to 30 s: about a minute of outage is survived
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    cache_path: str | None = None  # None: default_cache_path(); "": no cache
    prices: str | None = None
    context_window: int | None = None  # None: ask the endpoint (vLLM max_model_len, llama.cpp n_ctx)
    json_mode: JsonMode = "auto"  # auto: OpenAI json_schema, stepping down when the endpoint refuses it
    backend: Backend = "openai"
    embedded_n_ctx: int = 2048  # SmolLM2-135M was trained with 2k context (then extended to 8k); 2k keeps memory low
    embedded_threads: int | None = None  # None: llama.cpp's default (all cores)
    embedded_engine: Engine = "auto"  # auto: the engine measured fastest for this kind of CPU (reasonir.llm.engines)
    # transformers and openvino engines: None is bfloat16 where the CPU has bf16 units, else float32
    embedded_dtype: Dtype | None = None
    embedded_parallel: int = DEFAULT_PARALLEL  # llama-server slots decoded together (transformers: KV cache size)
    # with llama-server, requests in flight per slot: a seed's candidates queue on the slot that holds their prompt,
    # so the client needs slots x candidates in flight to keep every slot busy
    embedded_requests_per_slot: int = 8
    embedded_timeout_s: float = 900.0  # queued behind a slot's other candidates on a busy CPU; nothing to retry to
    check: bool = True  # ping the endpoint and check the model before any work
    api_key: str | None = field(default=None, repr=False)

    # ---- resolution -------------------------------------------------------------------------------------------
    @classmethod
    def resolve(cls, overrides: Mapping[str, Any] | None = None, *, config_file: str | Path | None = None,
                environ: Mapping[str, str] | None = None) -> LLMConfig:
        """Defaults < config file < ``REASONIR_LLM_*`` environment < ``overrides`` (None values are ignored)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        path = Path(config_file) if config_file else config_file_path()
        if path.exists():
            try:
                values.update(tomllib.loads(path.read_text(encoding="utf-8")))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise LLMConfigError(f"{path}: not valid TOML: {exc}") from exc
        names = {f.name: f for f in dataclasses.fields(cls)}
        for name in names:
            raw = environ.get(ENV_PREFIX + name.upper())
            if raw is not None and name != "api_key":  # a key in an env var is named by api_key_env instead
                values[name] = raw
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise LLMConfigError(f"unknown LLM setting(s) {unknown} (in {path} or {ENV_PREFIX}*); known: {sorted(names)}")
        return cls(**{k: _coerce(names[k], v) for k, v in values.items()})

    # ---- derived ----------------------------------------------------------------------------------------------
    @property
    def is_local(self) -> bool:
        """True for the embedded server and loopback URLs, which need no key."""
        return self.base_url is None or (urlparse(self.base_url).hostname or "") in LOOPBACK_HOSTS

    def resolved_cache_path(self) -> Path | None:
        if self.cache_path == "":
            return None
        return Path(self.cache_path).expanduser() if self.cache_path else default_cache_path()

    def key(self) -> str | None:
        """The API key, or None where none is needed. Raises ``MissingKeyError`` for a remote URL without one."""
        if self.api_key:
            return self.api_key
        if self.api_key_env and self.api_key_env.lower() != "none":
            value = os.environ.get(self.api_key_env)
            if value:
                return value
        if self.is_local or (self.api_key_env or "").lower() == "none":
            return None
        raise MissingKeyError(
            f"{self.base_url} needs an API key: set ${self.api_key_env} (or --llm-api-key-env NAME, or api_key in "
            f"{config_file_path()}); use --llm-api-key-env none for an endpoint without authentication"
        )

    def as_dict(self) -> dict[str, Any]:
        """Every setting except the key (safe to print or write next to outputs)."""
        out = dataclasses.asdict(self)
        out.pop("api_key")
        return out


def _coerce(f: dataclasses.Field, value: Any) -> Any:
    """Environment variables and TOML give strings/numbers; turn them into the field's type."""
    if not isinstance(value, str):
        return value
    kind = str(f.type)
    try:
        if kind.startswith("int"):
            return int(value)
        if kind.startswith("float"):
            return float(value)
        if kind.startswith("bool"):
            return value.strip().lower() in {"1", "true", "yes", "on"}
    except ValueError as exc:
        raise LLMConfigError(f"LLM setting {f.name}: expected {kind}, got {value!r}") from exc
    return value
