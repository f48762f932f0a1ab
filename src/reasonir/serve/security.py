"""Who may ask: the Host header allow-list, the API key, and JSON-only request bodies.

* :class:`HostAllowList` is Starlette's ``TrustedHostMiddleware`` with its refusal in the JSON error shape. Without
  an API key a server answers only Host headers naming loopback (``ServeConfig.trusted_hosts``): a web page that
  points its own name at 127.0.0.1 (DNS rebinding) sends that name, so it cannot read the API from a user's browser.
* :func:`key_checker` compares the ``X-API-Key`` header in constant time.
* :func:`require_json` answers 415 to a body sent as anything but JSON (a browser's cross-site form post sends
  ``text/plain`` without asking the server first).
"""
from __future__ import annotations

import hmac
from typing import Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from starlette.datastructures import Headers
from starlette.middleware.trustedhost import TrustedHostMiddleware

from reasonir.serve.config import API_KEY_HEADER
from reasonir.serve.errors import ApiError, error_json

_PASSED = "reasonir.host_allowed"  # scope key set when the Host header passed


class HostAllowList(TrustedHostMiddleware):
    """``TrustedHostMiddleware(allowed_hosts=...)`` answering a refused Host with JSON (400, ``invalid_host``).

    The parent calls the wrapped app only for an allowed Host; the request is marked there, so a response to an
    unmarked request is the parent's refusal, and only that response is rewritten.
    """

    def __init__(self, app: Any, allowed_hosts: list[str], why: str = "") -> None:
        super().__init__(app, allowed_hosts=allowed_hosts, www_redirect=False)  # never a redirect built from Host
        self.why = why  # said in the refusal: which names are answered, and why
        inner = self.app

        async def allowed(scope: dict, receive: Any, send: Any) -> None:
            scope[_PASSED] = True
            await inner(scope, receive, send)

        self.app = allowed

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if self.allow_any or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "")
        body = error_json(400, "invalid_host", f"this server does not answer to the Host {host[:100]!r}{self.why}")

        async def send_refusal_as_json(message: dict) -> None:
            if scope.get(_PASSED):
                await send(message)
            elif message["type"] == "http.response.start":
                await send({"type": "http.response.start", "status": 400,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                await send({"type": "http.response.body", "body": body})

        await super().__call__(scope, receive, send_refusal_as_json)


def key_checker(expected: str | None) -> Any:
    """A FastAPI dependency: 401 unless the request's ``X-API-Key`` is ``expected`` (anything passes when None)."""
    header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="required when the server has a key")

    async def check(given: str | None = Depends(header)) -> None:
        if expected is None:
            return
        if not given:
            raise ApiError(401, "missing_api_key", f"this server needs an API key in the {API_KEY_HEADER} header")
        if not hmac.compare_digest(given.encode(), expected.encode()):  # constant time: no timing oracle
            raise ApiError(401, "wrong_api_key", f"the {API_KEY_HEADER} header does not hold this server's key")

    return check


async def require_json(request: Request) -> None:
    """A FastAPI dependency: 415 unless the body is declared ``application/json`` (or ``application/*+json``).

    FastAPI itself parses only such bodies, and hands any other as bytes to validation, which answered 422
    "body: Input should be a valid dictionary"; the status that names the problem is 415.
    """
    declared = request.headers.get("content-type", "")
    media = declared.split(";", 1)[0].strip().lower()
    if media == "application/json" or (media.startswith("application/") and media.endswith("+json")):
        return
    shown = f"Content-Type {declared[:100]!r}" if declared else "no Content-Type"
    raise ApiError(415, "unsupported_media_type", f"the body must be JSON, sent with Content-Type: "
                   f"application/json (got {shown})")
