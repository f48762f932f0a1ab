"""Serve a reasonir index over HTTP: a FastAPI app with a JSON API, Prometheus metrics and a web page.

    reasonir serve INDEX_DIR [--host 127.0.0.1] [--port 8000] [--workers 1] [--cross-encoder NAME_OR_FOLDER]

The index and its encoder load once at startup; concurrent queries are searched in micro-batches on a worker
thread, off the event loop. Limits on body size, query length and ``k`` come from :class:`ServeConfig`. With
``REASONIR_API_KEY`` set, every API call needs it in the ``X-API-Key`` header; without it the server only listens
on loopback and only answers Host headers that name loopback (see :mod:`reasonir.serve.security`).

Example:
    >>> from reasonir.serve import ServeConfig, SearchService, create_app, uvicorn_settings
    >>> service = SearchService.from_index("idx", config=ServeConfig(max_k=50))  # doctest: +SKIP
    >>> app = create_app(service)  # doctest: +SKIP
    >>> import uvicorn; uvicorn.run(app, **uvicorn_settings(service.config))  # doctest: +SKIP
"""
from __future__ import annotations

from reasonir.serve.config import API_KEY_ENV, API_KEY_HEADER, ServeConfig, ServeConfigError, check_bind
from reasonir.serve.launch import Launch, uvicorn_settings
from reasonir.serve.service import Hit, SearchResult, SearchService


def create_app(service: SearchService, config: ServeConfig | None = None):
    """The FastAPI app over ``service`` (imports FastAPI only when called; see :mod:`reasonir.serve.app`)."""
    from reasonir.optional import require

    require("fastapi", "serve", purpose="reasonir serve")
    from reasonir.serve.app import create_app as build

    return build(service, config)


__all__ = ["API_KEY_ENV", "API_KEY_HEADER", "Hit", "Launch", "SearchResult", "SearchService", "ServeConfig",
           "ServeConfigError", "check_bind", "create_app", "uvicorn_settings"]
