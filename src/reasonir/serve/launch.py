"""Starting the server: what every worker process loads (:class:`Launch`), and how uvicorn is told to run it.

``reasonir serve`` checks its settings, then hands them to uvicorn's worker processes through the environment:
the index, models and limits as JSON in ``$REASONIR_SERVE_CONFIG``; the server's API key stays in
``$REASONIR_API_KEY`` and an LLM key read from a config file goes in ``$REASONIR_SERVE_LLM_API_KEY``, so neither
appears in the JSON (which is safe to log).

Example:
    >>> from reasonir.llm import LLMConfig
    >>> launch = Launch("idx", ServeConfig(max_k=20), llm=LLMConfig(base_url="http://localhost:8000/v1", api_key="sk"))
    >>> environ = launch.to_environ()
    >>> "sk" in environ[CONFIG_ENV], environ[LLM_KEY_ENV]
    (False, 'sk')
    >>> Launch.from_environ(environ).llm.api_key, Launch.from_environ(environ).config.max_k
    ('sk', 20)
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reasonir.serve.config import API_KEY_ENV, ServeConfig

if TYPE_CHECKING:
    from fastapi import FastAPI

    from reasonir.llm import LLMConfig
    from reasonir.serve.service import SearchService

CONFIG_ENV = "REASONIR_SERVE_CONFIG"
LLM_KEY_ENV = "REASONIR_SERVE_LLM_API_KEY"
HTTP_PROTOCOL = "reasonir.serve.protocol:JsonErrorH11Protocol"  # uvicorn's h11, its own 400s as JSON


@dataclass(frozen=True)
class Launch:
    """What each worker loads: the index (and optionally its query encoder and encoder backend), a cross-encoder
    for ``rerank="cross-encoder"``, the LLM settings for rewriting, LLM reranking and /rag (None: no LLM), and the
    server's limits."""

    index: str
    config: ServeConfig
    model: str | None = None
    encoder_backend: str | None = None
    cross_encoder: str | None = None
    llm: LLMConfig | None = None

    def to_environ(self) -> dict[str, str]:
        """The environment variables a worker reads back with :meth:`from_environ` (no key in the JSON)."""
        settings = {"index": self.index, "model": self.model, "encoder_backend": self.encoder_backend,
                    "cross_encoder": self.cross_encoder, "config": self.config.as_dict(),
                    "llm": self.llm.as_dict() if self.llm is not None else None}
        environ = {CONFIG_ENV: json.dumps(settings)}
        if self.llm is not None and self.llm.api_key:
            environ[LLM_KEY_ENV] = self.llm.api_key
        if self.config.api_key is not None:
            environ[API_KEY_ENV] = self.config.api_key
        return environ

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Launch:
        environ = os.environ if environ is None else environ
        settings = json.loads(environ[CONFIG_ENV])
        llm = None
        if settings["llm"] is not None:
            from reasonir.llm import LLMConfig

            llm = LLMConfig(**settings["llm"], api_key=environ.get(LLM_KEY_ENV) or None)
        config = ServeConfig.from_dict(settings["config"], api_key=environ.get(API_KEY_ENV) or None)
        return cls(settings["index"], config, model=settings["model"], encoder_backend=settings["encoder_backend"],
                   cross_encoder=settings["cross_encoder"], llm=llm)

    def service(self) -> SearchService:
        """Load the index and models (the slow part of a start)."""
        from reasonir.serve.service import SearchService

        return SearchService.from_index(self.index, model=self.model, config=self.config,
                                        encoder_backend=self.encoder_backend, cross_encoder=self.cross_encoder,
                                        llm_factory=_llm_factory(self.llm))


def _llm_factory(config: LLMConfig | None):
    """Starts the LLM from ``config`` when a request first needs it (None: this server has no LLM)."""
    if config is None:
        return None

    def start() -> Any:
        from reasonir.llm import load_llm

        return load_llm(config)
    return start


def app_from_environ() -> FastAPI:
    """App factory for uvicorn workers (``reasonir.serve.launch:app_from_environ``, ``factory=True``)."""
    from reasonir.serve.app import create_app

    launch = Launch.from_environ()
    return create_app(launch.service(), launch.config)


def uvicorn_settings(config: ServeConfig, *, log_level: str = "info") -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config`` that every server of reasonir runs with.

    Forwarded headers (``X-Forwarded-For``, ``-Proto``) are read only from ``config.forwarded_allow_ips``; uvicorn
    itself would believe any loopback client, so a local process could choose the address the access log records.
    """
    return {"host": config.host, "port": config.port, "log_level": log_level, "http": HTTP_PROTOCOL,
            "proxy_headers": bool(config.forwarded_allow_ips),
            "forwarded_allow_ips": config.forwarded_allow_ips or None,
            "timeout_keep_alive": config.keep_alive_s}


def run(launch: Launch, *, log_level: str = "info") -> None:
    """Serve ``launch`` with uvicorn in ``launch.config.workers`` processes, until interrupted."""
    import uvicorn

    os.environ.update(launch.to_environ())  # read back by each worker's app_from_environ
    uvicorn.run("reasonir.serve.launch:app_from_environ", factory=True, workers=launch.config.workers,
                **uvicorn_settings(launch.config, log_level=log_level))
