"""Server settings: where it listens and the limits every request is held to.

Each default is defined once, here, and says where it comes from.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

API_KEY_HEADER = "X-API-Key"
API_KEY_ENV = "REASONIR_API_KEY"  # the key is read from the environment, never from the command line (ps shows it)


class ServeConfigError(ValueError):
    """A setting the server refuses to start with (CLI exit code 3: misconfiguration)."""

    exit_code = 3


@dataclass(frozen=True)
class ServeConfig:
    """Limits and switches of one server.

    Example:
        >>> ServeConfig().max_k
        100
        >>> check_bind("0.0.0.0", api_key=None)
        Traceback (most recent call last):
        ...
        reasonir.serve.config.ServeConfigError: refusing to listen on 0.0.0.0 without an API key: set REASONIR_API_KEY (clients send it in the X-API-Key header) or listen on 127.0.0.1
    """

    host: str = "127.0.0.1"  # loopback: nothing outside the machine reaches a server started without thought
    port: int = 8000  # uvicorn's default
    workers: int = 1  # processes; each loads the index and the model once
    api_key: str | None = None
    max_k: int = 100  # the depth ReasonIR reranks (paper, Sec. 5: top-100 candidates)
    max_query_chars: int = 8192  # BRIGHT queries are whole StackExchange posts, a few thousand characters at most
    max_body_bytes: int = 65536  # a query at the limit, UTF-8 encoded, plus the JSON around it, with room to spare
    max_batch: int = 64  # queries encoded together, DenseRetriever's batch size (MODELS.md: measured on 2 cores)
    snippet_chars: int = 300  # about three lines of the web page
    threads: int | None = None  # torch and FAISS threads per process; None keeps the libraries' default (all cores)

    def __post_init__(self) -> None:
        for name in ("workers", "max_k", "max_query_chars", "max_body_bytes", "max_batch", "snippet_chars", "threads"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ServeConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.api_key is not None and not self.api_key.strip():
            raise ServeConfigError(f"the API key is empty; unset {API_KEY_ENV} or give it a value")


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
