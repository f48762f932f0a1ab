"""Server settings: where it listens, which hosts and proxies it trusts, and the limits every request is held to.

Each default is defined once, here, and says where it comes from; ``reasonir serve`` reads its flags' defaults from
:class:`ServeConfig`.
"""
from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from reasonir.serve.batching import BATCHING_RULES, BatchingRule

API_KEY_HEADER = "X-API-Key"
API_KEY_ENV = "REASONIR_API_KEY"  # the key is read from the environment, never from the command line (ps shows it)
# Host header values a loopback server answers to. A web page that rebinds its own name to 127.0.0.1 still sends
# that name as the Host, so answering only these keeps such pages out (DNS rebinding).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")

ProtectDocs = Literal["key", "open", "off"]
PROTECT_DOCS: tuple[ProtectDocs, ...] = get_args(ProtectDocs)


class ServeConfigError(ValueError):
    """A setting the server refuses to start with (CLI exit code 3: misconfiguration)."""

    exit_code = 3


@dataclass(frozen=True)
class ServeConfig:
    """Limits and switches of one server.

    Example:
        >>> ServeConfig().max_k
        100
        >>> ServeConfig().trusted_hosts()  # no key: loopback names only
        ['localhost', '127.0.0.1', '[::1]']
        >>> ServeConfig(api_key="k").trusted_hosts()  # a key guards the API: any name may reach it
        ['*']
        >>> check_bind("0.0.0.0", api_key=None)
        Traceback (most recent call last):
        ...
        reasonir.serve.config.ServeConfigError: refusing to listen on 0.0.0.0 without an API key: set REASONIR_API_KEY (clients send it in the X-API-Key header) or listen on 127.0.0.1
    """

    host: str = "127.0.0.1"  # loopback: nothing outside the machine reaches a server started without thought
    port: int = 8000  # uvicorn's default
    workers: int = 1  # processes; each loads the index and the model once
    api_key: str | None = None
    # Host header values answered (Starlette's patterns: "name", "*.domain", "*"); None: loopback names without a
    # key, any name with one
    allowed_hosts: tuple[str, ...] | None = None
    # proxies whose X-Forwarded-For/-Proto are believed (uvicorn's syntax: "127.0.0.1,10.0.0.0/8" or "*");
    # "": none, so a client cannot choose the address the access log records
    forwarded_allow_ips: str = ""
    # /docs, /redoc, /openapi.json: "key" needs the API key when the server has one, "open" never does, "off" 404s
    protect_docs: ProtectDocs = "key"
    max_k: int = 100  # the depth ReasonIR reranks (paper, Sec. 5: top-100 candidates)
    max_query_chars: int = 8192  # BRIGHT queries are whole StackExchange posts, a few thousand characters at most
    max_body_bytes: int = 65536  # a query at the limit, UTF-8 encoded, plus the JSON around it, with room to spare
    # How queries are batched (serve/batching.py): "bounded" runs a batch when it is full or its oldest query has
    # waited max_wait_ms, full meaning the size where the search's cost per query stops falling (measured at start);
    # "greedy", the rule before, runs everything queued at once. At 50 clients greedy gave 143 req/s with a p99 of
    # 1.38 s on an AMX Xeon (benchmarks/results/serve.json, phases.server_batched)
    batching: BatchingRule = "bounded"
    # the most queries in one batch, either rule (1: no batching); "bounded" measures sizes up to it. 64 is
    # DenseRetriever's batch size, at which the default encoder (auto: torch-bf16 on AMX) encoded 34.9 SciFact
    # passages/s at 256 tokens on 2 cores, 2.22x sentence-transformers fp32's 15.7
    # (benchmarks/results/encoding_backends.json, throughput.sides.auto.median)
    max_batch: int = 64
    # "bounded": the longest the oldest query waits for others; None: a quarter of one query's search time measured
    # at start (a lone query on an idle server pays at most that)
    max_wait_ms: float | None = None
    snippet_chars: int = 300  # about three lines of the web page
    threads: int | None = None  # torch and FAISS threads per process; None keeps the libraries' default (all cores)
    # uvicorn closes a keep-alive connection idle 5 s; a client that sends on it at that moment gets a dropped
    # connection instead of an answer (pooled clients under bursty load). 75 s: nginx's default
    keep_alive_s: int = 75

    def __post_init__(self) -> None:
        for name in ("workers", "max_k", "max_query_chars", "max_body_bytes", "max_batch", "snippet_chars", "threads",
                     "keep_alive_s"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ServeConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.api_key is not None and not self.api_key.strip():
            raise ServeConfigError(f"the API key is empty; unset {API_KEY_ENV} or give it a value")
        if self.batching not in BATCHING_RULES:
            raise ServeConfigError(f"batching must be one of {', '.join(BATCHING_RULES)}, got {self.batching!r}")
        if self.max_wait_ms is not None and self.max_wait_ms < 0:
            raise ServeConfigError(f"max_wait_ms must be at least 0, got {self.max_wait_ms}")
        if self.protect_docs not in PROTECT_DOCS:
            raise ServeConfigError(f"protect_docs must be one of {', '.join(PROTECT_DOCS)}, got {self.protect_docs!r}")
        for pattern in self.allowed_hosts or ():
            # Starlette's rule for patterns, checked here so that a bad one is a message, not an AssertionError
            wildcard = pattern.startswith("*") and pattern != "*"
            if not pattern or "*" in pattern[1:] or (wildcard and not pattern.startswith("*.")):
                raise ServeConfigError(f"allowed host {pattern!r}: use a name, an address, '*.domain' or '*'")
        if self.allowed_hosts is not None and "*" in self.allowed_hosts and self.api_key is None:
            raise ServeConfigError(f"refusing to answer any Host header without an API key: a web page could read "
                                   f"this server through DNS rebinding; set {API_KEY_ENV} or name the hosts")

    def trusted_hosts(self) -> list[str]:
        """The Host header patterns answered (see ``allowed_hosts``); the bind address is one when it is loopback."""
        if self.allowed_hosts is not None:
            return list(self.allowed_hosts)
        if self.api_key is not None:
            return ["*"]
        hosts = list(LOOPBACK_HOSTS)
        bind = f"[{self.host.strip('[]')}]" if ":" in self.host else self.host
        if is_loopback(self.host) and bind not in hosts:
            hosts.append(bind)  # e.g. 127.0.0.2
        return hosts

    def docs_need_key(self) -> bool:
        return self.protect_docs == "key" and self.api_key is not None

    def as_dict(self) -> dict[str, Any]:
        """Every setting except the key (safe to log or hand to a worker process through the environment)."""
        out = dataclasses.asdict(self)
        out.pop("api_key")
        if self.allowed_hosts is not None:
            out["allowed_hosts"] = list(self.allowed_hosts)
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, api_key: str | None = None) -> ServeConfig:
        """The inverse of :meth:`as_dict`; the key comes separately.

        >>> ServeConfig.from_dict(ServeConfig(allowed_hosts=("a.lan",)).as_dict()).allowed_hosts
        ('a.lan',)
        """
        values = dict(values)
        if values.get("allowed_hosts") is not None:
            values["allowed_hosts"] = tuple(values["allowed_hosts"])
        return cls(**values, api_key=api_key)


def is_loopback(host: str) -> bool:
    """``localhost`` and loopback addresses (127.0.0.0/8, ::1); any other name or address is not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api_key: str | None) -> None:
    """Refuse to listen beyond loopback without an API key."""
    if api_key is None and not is_loopback(host):
        raise ServeConfigError(
            f"refusing to listen on {host} without an API key: set {API_KEY_ENV} (clients send it in the "
            f"{API_KEY_HEADER} header) or listen on 127.0.0.1")


def check_port(host: str, port: int) -> None:
    """Fail now, before any model loads, when ``host:port`` cannot be listened on (another server holds it).

    Binds a throwaway socket the way uvicorn binds its own (SO_REUSEADDR, so a port left in TIME_WAIT by a server
    that just stopped is free), then lets it go.
    """
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as exc:
            raise ServeConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (another server may hold "
                                   "the port: stop it or pick another with --port)") from None
