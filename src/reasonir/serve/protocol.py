"""uvicorn's HTTP/1.1 protocol (h11), answering the requests it cannot parse in the API's JSON error shape.

uvicorn answers bytes that are not HTTP (a bad request line, a header without a colon) itself, before any app
runs, with a plain-text 400. This subclass changes only that answer; everything else is uvicorn's. It is named
by import path in uvicorn's ``http`` setting (see :func:`reasonir.serve.launch.uvicorn_settings`).
"""
from __future__ import annotations

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from reasonir.serve.errors import error_json

UNPARSABLE = error_json(400, "malformed_request", "the request is not valid HTTP/1.1")


class JsonErrorH11Protocol(H11Protocol):
    def send_400_response(self, msg: str) -> None:  # msg: uvicorn's own text, already logged by its caller
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(UNPARSABLE)).encode()),
                   (b"connection", b"close")]
        for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"), h11.Data(data=UNPARSABLE),
                      h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()
