"""The FastAPI app: /search, /rag, /health, /metrics, the web page at /, OpenAPI at /docs and /openapi.json.

Every error is JSON, ``{"error": {"status", "type", "message"[, "details"]}}``: 400 malformed JSON, 401 missing or
wrong API key, 404/405 unknown route or method, 413 body too large, 422 a field out of range or unknown,
501 a feature this build lacks, 500 anything else (logged; the message does not leak internals).

Example (a real server: ``reasonir serve INDEX``; in tests: ``fastapi.testclient.TestClient(create_app(service))``):
    >>> from fastapi.testclient import TestClient  # doctest: +SKIP
    >>> client = TestClient(create_app(SearchService.from_index("idx")))  # doctest: +SKIP
    >>> client.post("/search", json={"query": "vitamin D", "k": 3}).json()["results"][0]["id"]  # doctest: +SKIP
"""
from __future__ import annotations

import hmac
import logging
import os
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from reasonir.serve import rag
from reasonir.serve.config import API_KEY_HEADER, ServeConfig
from reasonir.serve.limits import BodyLimitMiddleware
from reasonir.serve.metrics import Metrics, MetricsMiddleware
from reasonir.serve.schemas import ErrorResponse, RagRequest, SearchRequest, SearchResponse
from reasonir.serve.service import FeatureUnavailable, SearchService

log = logging.getLogger("reasonir.serve")
STATIC_FILES = {"app.js": "text/javascript", "style.css": "text/css"}  # fixed names: no path comes from a client


class ApiError(Exception):
    def __init__(self, status: int, type_: str, message: str) -> None:
        super().__init__(message)
        self.status, self.type, self.message = status, type_, message


def _error(status: int, type_: str, message: str, details: list | None = None,
           headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"status": status, "type": type_, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _validation_response(exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    bad_json = [e for e in errors if e.get("type") == "json_invalid"]
    if bad_json:
        ctx = bad_json[0].get("ctx", {})
        return _error(400, "malformed_json", f"the body is not valid JSON: {ctx.get('error', 'parse error')} "
                      f"at character {bad_json[0].get('loc', ('body', '?'))[-1]}")
    details = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body", "message": e.get("msg")}
               for e in errors]
    return _error(422, "invalid_request", "; ".join(f"{d['field']}: {d['message']}" for d in details), details)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.type, exc.message,
                      headers={"WWW-Authenticate": "ApiKey"} if exc.status == 401 else None)

    @app.exception_handler(FeatureUnavailable)
    async def unavailable(_: Request, exc: FeatureUnavailable) -> JSONResponse:
        return _error(501, "not_implemented", str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, "http_error", str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("error answering %s %s", request.method, request.url.path)
        return _error(500, "internal_error", f"the server failed to answer ({type(exc).__name__}); see its log")


def _key_checker(expected: str | None):
    header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="required when the server has a key")

    async def check(given: str | None = Depends(header)) -> None:
        if expected is None:
            return
        if not given:
            raise ApiError(401, "missing_api_key", f"this server needs an API key in the {API_KEY_HEADER} header")
        if not hmac.compare_digest(given.encode(), expected.encode()):  # constant time: no timing oracle
            raise ApiError(401, "wrong_api_key", f"the {API_KEY_HEADER} header does not hold this server's key")

    return check


def _check_limits(config: ServeConfig, *, text: str, field: str, k: int) -> None:
    if len(text) > config.max_query_chars:
        raise ApiError(422, "invalid_request",
                       f"{field}: {len(text)} characters, over this server's limit of {config.max_query_chars}")
    if not 1 <= k <= config.max_k:
        raise ApiError(422, "invalid_request", f"k: must be between 1 and this server's max_k={config.max_k}, got {k}")


def _static(name: str) -> bytes:
    return resources.files("reasonir.serve").joinpath("static", name).read_bytes()


def create_app(service: SearchService, config: ServeConfig | None = None) -> FastAPI:
    """The app over a loaded :class:`SearchService`; ``config`` defaults to the service's."""
    config = config or service.config
    metrics = Metrics()
    pages = {name: _static(name) for name in ["index.html", *STATIC_FILES]}  # read once, served from memory
    authorized = Depends(_key_checker(config.api_key))

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        await service.aclose()

    # FastAPIOffline: /docs and /redoc from bundled assets, not a CDN (reasonir runs offline)
    app = FastAPIOffline(title="reasonir", summary="Search (and answer from) a reasonir index.",
                         version=_version(), lifespan=lifespan,
                         responses={code: {"model": ErrorResponse} for code in (400, 401, 413, 422, 501)})
    _install_errors(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # added last: outermost, so it sees 413s too

    @app.post("/search", response_model=SearchResponse, dependencies=[authorized])
    async def search(req: SearchRequest) -> SearchResponse:
        """Top-k documents for a query: ids, titles, snippets, scores, timings; the rewritten query and the
        compute (tokens, FLOPs) of each stage when the pipeline reports them."""
        _check_limits(config, text=req.query, field="query", k=req.k)
        result = await service.search(req.query, req.k, rewrite=req.rewrite, rerank=req.rerank)
        metrics.batch_size.observe(result.timings_ms["batch_size"])
        return SearchResponse(query=result.query, k=result.k, results=[vars(h) for h in result.hits],
                              rewritten_query=result.rewritten_query, compute=result.compute,
                              timings_ms=result.timings_ms)

    @app.post("/rag", dependencies=[authorized])
    async def answer(req: RagRequest) -> dict:
        """Answer a multiple-choice question from the top-k documents: retrieved ids, the reader's answer, its letter."""
        _check_limits(config, text=req.question, field="question", k=req.k)
        try:
            return await run_in_threadpool(rag.answer, service, req.question, req.choices, req.k)
        except rag.BadRagRequest as exc:
            raise ApiError(422, "invalid_request", str(exc)) from None

    @app.get("/health")
    async def health() -> dict:
        """Liveness and what is loaded (open without a key: it names no document)."""
        return {"status": "ok", "index_kind": service.kind, "documents": len(service.documents),
                "auth": config.api_key is not None,
                "limits": {"max_k": config.max_k, "max_query_chars": config.max_query_chars,
                           "max_body_bytes": config.max_body_bytes}}

    @app.get("/metrics", dependencies=[authorized])
    async def prometheus() -> Response:
        """Prometheus text: requests, latency histograms and errors per endpoint; search batch sizes."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(pages["index.html"])

    for name, media in STATIC_FILES.items():
        app.add_api_route(f"/static/{name}", _serve_bytes(pages[name], media), include_in_schema=False)
    return app


def _serve_bytes(content: bytes, media_type: str):
    async def serve() -> Response:
        return Response(content, media_type=media_type)
    return serve


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("reasonir")
    except PackageNotFoundError:
        return "0"


CONFIG_ENV = "REASONIR_SERVE_CONFIG"  # how `reasonir serve --workers N` hands its settings to each worker process


def app_from_environ() -> FastAPI:
    """App factory for uvicorn workers: index and limits from ``$REASONIR_SERVE_CONFIG``, key from its variable."""
    import json

    from reasonir.serve.config import API_KEY_ENV

    settings = json.loads(os.environ[CONFIG_ENV])
    config = ServeConfig(**settings["config"], api_key=os.environ.get(API_KEY_ENV) or None)
    llm_args = settings.get("llm_args")
    service = SearchService.from_index(settings["index"], model=settings.get("model"), config=config,
                                       encoder_backend=settings.get("encoder_backend"),
                                       llm_factory=_llm_factory(llm_args))
    return create_app(service, config)


def _llm_factory(llm_args: dict | None):
    """A function that starts the LLM from the serve command's ``--llm-*`` flags (called only when needed)."""
    import argparse

    def start() -> Any:
        from reasonir.cli.llm_flags import llm_from_args

        return llm_from_args(argparse.Namespace(**(llm_args or {})))
    return start
