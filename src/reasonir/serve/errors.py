"""Every error the server answers, in one JSON shape: ``{"error": {"status", "type", "message"[, "details"]}}``.

``type`` is a stable, machine-readable name (``malformed_json``, ``invalid_request``, ``missing_api_key`` ...);
``message`` is for people. Errors raised outside the app (Starlette's routing, FastAPI's body parsing) get the
snake-cased HTTP phrase as their type (``not_found``, ``method_not_allowed``) unless a better one is known.

Example:
    >>> error_json(415, "unsupported_media_type", "send JSON")
    b'{"error": {"status": 415, "type": "unsupported_media_type", "message": "send JSON"}}'
    >>> type_for(405)
    'method_not_allowed'
"""
from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

log = logging.getLogger("reasonir.serve")


class ApiError(Exception):
    """An error the app raises on purpose: its status, type and message reach the client as they are."""

    def __init__(self, status: int, type_: str, message: str) -> None:
        super().__init__(message)
        self.status, self.type, self.message = status, type_, message


def error_body(status: int, type_: str, message: str, details: list | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "type": type_, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


def error_json(status: int, type_: str, message: str) -> bytes:
    """The error as bytes, for the layers below the app (pure ASGI middleware, the HTTP protocol)."""
    return json.dumps(error_body(status, type_, message)).encode()


def type_for(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "http_error"


def install(app: Any) -> None:
    """Register the handlers that turn every exception into the JSON shape."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from reasonir.serve.service import FeatureUnavailable

    def respond(status: int, type_: str, message: str, details: list | None = None,
                headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(error_body(status, type_, message, details), status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(_: Any, exc: ApiError) -> JSONResponse:
        return respond(exc.status, exc.type, exc.message,
                       headers={"WWW-Authenticate": "ApiKey"} if exc.status == 401 else None)

    @app.exception_handler(FeatureUnavailable)
    async def unavailable(_: Any, exc: FeatureUnavailable) -> JSONResponse:
        return respond(501, "not_implemented", str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Any, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        bad_json = [e for e in errors if e.get("type") == "json_invalid"]
        if bad_json:
            ctx = bad_json[0].get("ctx", {})
            return respond(400, "malformed_json", f"the body is not valid JSON: {ctx.get('error', 'parse error')} "
                           f"at character {bad_json[0].get('loc', ('body', '?'))[-1]}")
        details = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body",
                    "message": e.get("msg")} for e in errors]
        return respond(422, "invalid_request", "; ".join(f"{d['field']}: {d['message']}" for d in details), details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Any, exc: StarletteHTTPException) -> JSONResponse:
        unparsable = _unparsable_body(exc)
        if unparsable:
            return respond(400, "malformed_json", unparsable)
        return respond(exc.status_code, type_for(exc.status_code), str(exc.detail),
                       headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def crash(request: Any, exc: Exception) -> JSONResponse:
        # Not logged here: Starlette re-raises the exception after this answer so that the server logs it with its
        # traceback (uvicorn: "Exception in ASGI application"); logging it here too printed every traceback twice.
        return respond(500, "internal_error", f"the server failed to answer ({type(exc).__name__}); see its log")


def _unparsable_body(exc: Exception) -> str | None:
    """FastAPI answers a body ``json.loads`` cannot read for reasons other than syntax with a bare 400; name them."""
    cause = exc.__cause__
    if isinstance(cause, UnicodeDecodeError):
        return f"the body is not valid JSON: not UTF-8 ({cause.reason} at byte {cause.start})"
    if isinstance(cause, RecursionError):
        return "the body is not valid JSON this server reads: arrays or objects nested too deeply"
    if isinstance(cause, ValueError):
        return f"the body is not valid JSON: {cause}"
    return None
