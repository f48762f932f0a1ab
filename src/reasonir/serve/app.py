"""The FastAPI app: /search, /rag, /documents/{id}, /health, /metrics, the web page at /, OpenAPI at /docs.

What each endpoint requires when the server has an API key (``X-API-Key`` header): /search, /rag, /documents and
/metrics always; /docs, /redoc and /openapi.json unless ``protect_docs="open"`` (``"off"``: not served); /health,
the page and its static files never (they name no document). Every request must carry a Host header the server
answers to (:class:`reasonir.serve.security.HostAllowList`), every request body must be JSON (415 otherwise), and
every GET route answers HEAD too.

Every error is JSON, ``{"error": {"status", "type", "message"[, "details"]}}`` (:mod:`reasonir.serve.errors`):
400 malformed JSON or a refused Host, 401 missing or wrong API key, 404/405 unknown route or method, 413 body too
large, 415 not JSON, 422 a field out of range, of the wrong type or unknown, 501 a feature this server was not
given a model for, 500 anything else (logged by the server; the message does not leak internals).

Example (a real server: ``reasonir serve INDEX``; in tests: ``fastapi.testclient.TestClient(create_app(service))``):
    >>> from fastapi.testclient import TestClient  # doctest: +SKIP
    >>> client = TestClient(create_app(SearchService.from_index("idx")), base_url="http://localhost")  # doctest: +SKIP
    >>> client.post("/search", json={"query": "vitamin D", "k": 3}).json()["results"][0]["id"]  # doctest: +SKIP
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from reasonir.serve import errors, rag
from reasonir.serve.config import ServeConfig
from reasonir.serve.errors import ApiError
from reasonir.serve.limits import BodyLimitMiddleware
from reasonir.serve.metrics import Metrics, MetricsMiddleware
from reasonir.serve.schemas import DocumentOut, ErrorResponse, RagRequest, SearchRequest, SearchResponse
from reasonir.serve.security import HostAllowList, key_checker, require_json
from reasonir.serve.service import SearchService

# fixed names: no path comes from a client
STATIC_FILES = {"app.js": "text/javascript", "style.css": "text/css", "favicon.svg": "image/svg+xml"}
DOCS_ASSETS = "/static-offline-docs"  # Swagger UI and ReDoc from fastapi-offline's bundle, not a CDN (runs offline)


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
    authorized = Depends(key_checker(config.api_key))
    json_body = Depends(require_json)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        await service.aclose()

    app = FastAPI(title="reasonir", summary="Search (and answer from) a reasonir index.", version=_version(),
                  lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,  # added below, under the key
                  redirect_slashes=False,  # Starlette builds that redirect from the client's Host header
                  responses={code: {"model": ErrorResponse} for code in (400, 401, 413, 415, 422, 501)})
    errors.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.max_body_bytes)
    app.add_middleware(HostAllowList, allowed_hosts=config.trusted_hosts(),
                       why="; see --allowed-hosts" if config.allowed_hosts is not None else
                       f": without an API key it answers to loopback names only ({', '.join(config.trusted_hosts())})")
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # added last: outermost, so it sees 400s and 413s too

    @app.post("/search", response_model=SearchResponse, dependencies=[authorized, json_body])
    async def search(req: SearchRequest) -> SearchResponse:
        """Top-k documents for a query: ids, titles, snippets, scores, timings; the rewritten query and the
        compute (tokens, FLOPs) of each stage when the pipeline reports them."""
        _check_limits(config, text=req.query, field="query", k=req.k)
        result = await service.search(req.query, req.k, rewrite=req.rewrite, rerank=req.rerank)
        metrics.batch_size.observe(result.timings_ms["batch_size"])
        return SearchResponse(query=result.query, k=result.k, results=[vars(h) for h in result.hits],
                              rewritten_query=result.rewritten_query, compute=result.compute,
                              timings_ms=result.timings_ms)

    @app.post("/rag", dependencies=[authorized, json_body])
    async def answer(req: RagRequest) -> dict:
        """Answer a multiple-choice question from the top-k documents: retrieved ids, the reader's answer, its letter."""
        _check_limits(config, text=req.question, field="question", k=req.k)
        try:
            return await run_in_threadpool(rag.answer, service, req.question, req.choices, req.k)
        except rag.BadRagRequest as exc:
            raise ApiError(422, "invalid_request", str(exc)) from None

    @app.get("/documents/{doc_id:path}", response_model=DocumentOut, dependencies=[authorized])
    async def document(doc_id: str) -> DocumentOut:
        """One stored document, whole: id, title, text (a result's ``id`` names it)."""
        doc = service.documents.get(doc_id)
        if doc is None:
            raise ApiError(404, "not_found", f"no document with id {doc_id[:200]!r} in this index")
        return DocumentOut(id=doc.id, title=doc.title, text=doc.text)

    @app.get("/health")
    async def health() -> dict:
        """Liveness, what is loaded and what requests may ask for (open without a key: it names no document)."""
        return {"status": "ok", "index_kind": service.kind, "documents": len(service.documents),
                "auth": config.api_key is not None, "features": service.features(),
                "docs": "key" if config.docs_need_key() else "off" if config.protect_docs == "off" else "open",
                "limits": {"max_k": config.max_k, "max_query_chars": config.max_query_chars,
                           "max_body_bytes": config.max_body_bytes},
                "batching": service.batching()}

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
    app.add_api_route("/favicon.ico", _serve_bytes(pages["favicon.svg"], STATIC_FILES["favicon.svg"]),
                      include_in_schema=False)  # browsers ask for it whatever the page says
    _add_docs(app, config, authorized)
    _answer_head(app)
    return app


def _add_docs(app: FastAPI, config: ServeConfig, authorized: Any) -> None:
    """/openapi.json, /docs (Swagger UI) and /redoc, under the key when ``config.docs_need_key()``."""
    if config.protect_docs == "off":
        return
    import fastapi_offline
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    app.mount(DOCS_ASSETS, StaticFiles(directory=Path(fastapi_offline.__file__).parent / "static"), name="docs-assets")
    dependencies = [authorized] if config.docs_need_key() else []

    @app.get("/openapi.json", include_in_schema=False, dependencies=dependencies)
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=dependencies)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="reasonir - Swagger UI",
                                   swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css", swagger_favicon_url="/favicon.ico")

    @app.get("/redoc", include_in_schema=False, dependencies=dependencies)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title="reasonir - ReDoc",
                              redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js", with_google_fonts=False,
                              redoc_favicon_url="/favicon.ico")


def _answer_head(app: FastAPI) -> None:
    """A HEAD twin (same checks, same headers; the server drops the body) for every GET route.

    FastAPI routes answer only the methods they declare, so ``HEAD /health`` was 405; declaring HEAD beside GET
    would give both one OpenAPI operation id, so the twins stay out of the schema.
    """
    for route in list(app.router.routes):
        if isinstance(route, APIRoute) and "GET" in route.methods:
            app.add_api_route(route.path, route.endpoint, methods=["HEAD"], dependencies=route.dependencies,
                              response_model=route.response_model, response_class=route.response_class,
                              include_in_schema=False, name=f"{route.name}_head")


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
