"""Endpoints for tests: the real embedded server as a pytest fixture, and small local OpenAI-compatible HTTP
servers: one that misbehaves on purpose (429 with Retry-After, 500, hangs, garbage), one that answers every
synthesis prompt (``ScriptedEndpoint``, for a test that runs ``reasonir synthesize --llm-base-url ...`` in a process
it can kill).

In a test module (or a folder's conftest.py; ``tests/`` is on the test path):

    from endpoints import embedded_server_fixture, llm_for
    smollm2_server = embedded_server_fixture()          # one real llama-cpp server per test session

    def test_something(smollm2_server, tmp_path):
        with llm_for(smollm2_server.base_url, cache_path=tmp_path / "c.sqlite") as llm:
            ...

Fault server (answers are a pure function of the prompt, so a test can check every answer):

    >>> with FaultyEndpoint(FaultPlan(rate_limit=0.5, seed=1)) as endpoint:
    ...     with llm_for(endpoint.base_url, backoff_base_s=0.01) as llm:
    ...         results = dict(llm.chat_many([ChatRequest.user(f"q{i}") for i in range(4)]))
    >>> sorted(r.text for r in results.values())
    ['answer: Q0', 'answer: Q1', 'answer: Q2', 'answer: Q3']
"""
from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from reasonir.llm.cache import ResponseCache
from reasonir.llm.client import OpenAICompatibleLLM
from reasonir.llm.config import JsonMode
from reasonir.llm.embedded import EmbeddedServer
from reasonir.llm.retry import RetryPolicy
from reasonir.llm.types import ChatRequest, Sampling
from reasonir.testing import scripted_answers

__all__ = ["ChatRequest", "EmbeddedServer", "FaultPlan", "FaultyEndpoint", "ScriptedEndpoint", "answer_for",
           "embedded_server_fixture", "llm_for"]


def embedded_server_fixture(scope: str = "session", **server_kwargs: Any) -> Any:
    """A pytest fixture that yields a started ``EmbeddedServer`` (the packaged SmolLM2) and stops it after."""
    import pytest

    @pytest.fixture(scope=scope)  # type: ignore[misc]
    def _server() -> Any:
        with EmbeddedServer(**server_kwargs) as server:
            yield server

    return _server


def llm_for(base_url: str, *, model: str | None = None, cache_path: str | Path | None = None, concurrency: int = 8,
            timeout_s: float = 30.0, max_retries: int = 6, backoff_base_s: float = 0.05, backoff_max_s: float = 2.0,
            json_mode: JsonMode = "auto", check: bool = True, slots: int | None = None) -> OpenAICompatibleLLM:
    """A client for a local test server, with short backoffs; no cache unless ``cache_path`` is given; ``slots``
    as ``EmbeddedServer.slots`` (pin requests to llama-server slots)."""
    llm = OpenAICompatibleLLM(base_url, model, concurrency=concurrency, timeout_s=timeout_s,
                              retry=RetryPolicy(max_retries, backoff_base_s, backoff_max_s),
                              cache=ResponseCache(cache_path) if cache_path else None, json_mode=json_mode,
                              slots=slots)
    if check:
        llm.check()
    return llm


def answer_for(prompt: str) -> str:
    """What ``FaultyEndpoint`` answers to ``prompt`` when it behaves."""
    return f"answer: {prompt.upper()}"


@dataclass
class FaultPlan:
    """Fractions of *first* attempts per prompt that misbehave (later attempts behave, so a job can finish)."""

    rate_limit: float = 0.0  # 429 with Retry-After
    server_error: float = 0.0  # 500
    hang: float = 0.0  # no answer for hang_s (past the client's timeout)
    garbage: float = 0.0  # 200 with a body that is not JSON
    retry_after_s: float = 0.05
    hang_s: float = 3.0
    latency_s: float = 0.0  # added to every good answer (simulates a remote model's generation time)
    faulty_attempts: int = 1  # how many attempts per prompt may misbehave
    refuse_json_schema: bool = False  # answer 500 to response_format json_schema, as llama-cpp-python does
    context_window: int = 4096
    seed: int = 0


@dataclass
class _Stats:
    requests: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    attempts: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0  # the most chat requests handled at once (checks the client's concurrency limit)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # socketserver's default backlog of 5 drops connections a concurrent client opens at once
    daemon_threads = True
    block_on_close = False  # hanging handlers must not block shutdown


class LoopbackEndpoint:
    """An HTTP server on 127.0.0.1 (a free port) in a daemon thread, as a context manager; subclasses give the
    request handler. ``base_url`` is what an OpenAI client needs."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class FaultyEndpoint(LoopbackEndpoint):
    """An OpenAI-compatible server on 127.0.0.1 in a thread that injects faults by ``FaultPlan``."""

    model = "fault-model"

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self.plan = plan or FaultPlan()
        self.stats = _Stats()
        super().__init__(self._handler_class())

    def fault_for(self, prompt: str) -> str | None:
        """Which fault (if any) this attempt at ``prompt`` gets: deterministic in (seed, prompt, attempt)."""
        with self.stats.lock:
            self.stats.requests += 1
            attempt = self.stats.attempts[prompt]
            self.stats.attempts[prompt] += 1
        if attempt >= self.plan.faulty_attempts:
            return None
        draw = random.Random(f"{self.plan.seed}:{prompt}:{attempt}").random()
        for kind in ("rate_limit", "server_error", "hang", "garbage"):
            draw -= getattr(self.plan, kind)
            if draw < 0:
                with self.stats.lock:
                    self.stats.faults[kind] += 1
                return kind
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet tests
                pass

            def _send(self, status: int, body: bytes, content_type: str = "application/json",
                      headers: dict[str, str] | None = None) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout): fine
                    pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.rstrip("/") == "/v1/models":
                    data = {"object": "list", "data": [{"id": endpoint.model, "object": "model",
                                                        "max_model_len": endpoint.plan.context_window}]}
                    self._send(200, json.dumps(data).encode())
                else:
                    self._send(404, b'{"error": {"message": "not found"}}')

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._send(404, b'{"error": {"message": "not found"}}')
                if body.get("model") != endpoint.model:
                    msg = {"error": {"message": f"The model `{body.get('model')}` does not exist."}}
                    return self._send(404, json.dumps(msg).encode())
                fmt = body.get("response_format") or {}
                if endpoint.plan.refuse_json_schema and fmt.get("type") == "json_schema":
                    msg = {"error": {"message": "response_format.type: Input should be 'text' or 'json_object'"}}
                    return self._send(500, json.dumps(msg).encode())
                prompt = body["messages"][-1]["content"]
                stats = endpoint.stats
                with stats.lock:
                    stats.in_flight += 1
                    stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
                try:
                    self._answer(prompt, fmt)
                finally:
                    with stats.lock:
                        stats.in_flight -= 1

            def _answer(self, prompt: str, fmt: dict[str, Any]) -> None:
                fault = endpoint.fault_for(prompt)
                if fault == "rate_limit":
                    retry_after = f"{endpoint.plan.retry_after_s:g}"
                    return self._send(429, b'{"error": {"message": "slow down"}}', headers={"Retry-After": retry_after})
                if fault == "server_error":
                    return self._send(500, b'{"error": {"message": "internal error"}}')
                if fault == "hang":
                    time.sleep(endpoint.plan.hang_s)
                    return self._send(504, b'{"error": {"message": "too late"}}')
                if fault == "garbage":
                    return self._send(200, b"<html>502 Bad Gateway from a proxy</html>", "application/json")
                if endpoint.plan.latency_s:
                    time.sleep(endpoint.plan.latency_s)
                text = answer_for(prompt)
                if fmt.get("type") in ("json_schema", "json_object"):
                    text = json.dumps({"answer": text})
                data = {"id": "x", "object": "chat.completion", "model": endpoint.model,
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                     "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split())}}
                return self._send(200, json.dumps(data).encode())

        return Handler


class ScriptedEndpoint(LoopbackEndpoint):
    """``scripted_answers`` behind an OpenAI-compatible server on 127.0.0.1 (a thread), ``latency_s`` per answer.

    >>> with ScriptedEndpoint() as endpoint, llm_for(endpoint.base_url) as llm:
    ...     schema = {"type": "object", "properties": {"score": {"type": "integer"}}}
    ...     llm.chat(ChatRequest.user("rate this", json_schema=schema)).parsed["score"] in range(6)
    True
    """

    model = "scripted-endpoint"

    def __init__(self, latency_s: float = 0.0, context_window: int = 8192) -> None:
        self.latency_s, self.context_window, self.requests = latency_s, context_window, 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

            def _send(self, status: int, data: dict) -> None:
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._send(200, {"object": "list", "data": [{"id": endpoint.model, "object": "model",
                                                             "max_model_len": endpoint.context_window}]})

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                fmt = body.get("response_format") or {}
                schema = (fmt.get("json_schema") or {}).get("schema") or fmt.get("schema")
                request = ChatRequest(messages=tuple(body.get("messages", ())), json_schema=schema,
                                      sampling=Sampling(seed=body.get("seed")))
                time.sleep(endpoint.latency_s)
                endpoint.requests += 1
                answer = scripted_answers(request)
                text = answer if isinstance(answer, str) else json.dumps(answer)
                self._send(200, {"id": "x", "object": "chat.completion", "model": endpoint.model,
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": text}}],
                                 "usage": {"prompt_tokens": 10, "completion_tokens": len(text.split())}})

        super().__init__(Handler)
