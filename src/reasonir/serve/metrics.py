"""Prometheus metrics of one app: requests, latencies and errors per endpoint, and search batch sizes.

Each app has its own registry (two apps in one process, as in tests, do not share counters). With
``--workers N`` every process counts its own requests: scrape each, or run one worker per container.
"""
from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

# Label values come from closed sets, so no client can add series (each costs memory and /metrics bytes for the
# server's life): the methods of RFC 9110 and PATCH, the app's route templates; anything else is "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
# Latency buckets from 5 ms to 10 s: a dense query on CPU takes tens of milliseconds, an LLM rewrite seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("reasonir_http_requests", "HTTP requests answered", ["endpoint", "method", "status"],
                                registry=self.registry)
        self.errors = Counter("reasonir_http_errors", "HTTP requests answered with status >= 400",
                              ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram("reasonir_http_request_duration_seconds", "time to answer a request",
                                 ["endpoint"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.batch_size = Histogram("reasonir_search_batch_size", "queries searched together in one batch",
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=self.registry)


class MetricsMiddleware:
    """Pure ASGI middleware: counts every HTTP response by route template (never the raw path) and method.

    A request that matched no route (404, a refused Host) counts as ``unmatched``; a method outside
    :data:`METHODS` as ``other``.
    """

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def send_status(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "unmatched"  # unmatched paths share one label
            method = scope["method"] if scope["method"] in METHODS else "other"
            self.metrics.requests.labels(endpoint, method, str(status)).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - start)
            if status >= 400:
                self.metrics.errors.labels(endpoint, str(status)).inc()
