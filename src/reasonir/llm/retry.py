"""When and how long to wait before trying a request again.

Retried: 429 (rate limit), 5xx, timeouts, dropped connections and answers that are not a chat completion. Not
retried: other 4xx (the request itself is wrong). The wait is exponential backoff with "equal jitter" (a random
wait between half and all of the backoff; AWS Architecture Blog, "Exponential Backoff and Jitter", 2015) so many
clients do not retry in lockstep, unless the
server says how long to wait (``Retry-After``: seconds or an HTTP date; ``retry-after-ms`` as OpenAI sends).

Example:
    >>> policy = RetryPolicy(max_retries=3, base_s=1.0, max_s=8.0)
    >>> [policy.delay(a, rng=lambda lo, hi: hi) for a in range(4)]
    [1.0, 2.0, 4.0, 8.0]
    >>> policy.delay(0, retry_after="7")
    7.0
"""
from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 6
    base_s: float = 0.5
    max_s: float = 30.0
    max_retry_after_s: float = 300.0  # a server asking for more than 5 minutes is treated as asking for 5

    def delay(self, attempt: int, retry_after: str | None = None,
              rng: Callable[[float, float], float] = random.uniform) -> float:
        """Seconds to wait before retry number ``attempt + 1`` (``attempt`` counts from 0)."""
        asked = parse_retry_after(retry_after)
        if asked is not None:
            return min(asked, self.max_retry_after_s)
        ceiling = min(self.max_s, self.base_s * 2**attempt)
        return rng(ceiling / 2, ceiling)  # "equal jitter": never 0, never more than the ceiling


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header value (delta-seconds or HTTP-date), None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def retry_after_from(headers: Mapping[str, str] | None) -> str | None:
    """The server's requested wait as a Retry-After value (``retry-after-ms`` converted to seconds)."""
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return str(float(ms) / 1000)
        except ValueError:
            pass
    return headers.get("retry-after")
