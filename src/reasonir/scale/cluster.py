"""Connecting to Ray: an address, ``$RAY_ADDRESS``, or a local cluster started for one job and stopped after it.

Example:
    >>> with ray_session(num_cpus=2) as session:  # doctest: +SKIP
    ...     session.opened, round(session.seconds) < 60
    (True, True)
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType

from reasonir.optional import require


def import_ray() -> ModuleType:
    """``ray`` (with Ray Data), or an error that names the extra to install."""
    ray = require("ray", "ray", purpose="the Ray backend (--backend ray)")
    require("ray.data", "ray", purpose="the Ray backend (--backend ray)")
    return ray


@dataclass
class RaySession:
    """What :func:`ray_session` did: whether it opened the connection (and so closes it; a local cluster it started
    stops then) and how long connecting or starting took."""

    opened: bool
    seconds: float
    address: str | None


@contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None,
                num_gpus: int | None = None) -> Iterator[RaySession]:
    """Use Ray for the block: a session the caller already opened (``ray.init``) as it is; else the cluster at
    ``address`` (or ``$RAY_ADDRESS``); else a local one on loopback with ``num_cpus`` CPUs (default: all), which is
    shut down at the end. Connecting to a cluster never stops it.
    """
    ray = import_ray()
    if ray.is_initialized():
        yield RaySession(False, 0.0, None)
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    start = time.perf_counter()
    if address:
        ray.init(address=address)
    else:  # "local": a fresh cluster for this job, not one a stray RAY_ADDRESS-less `ray start` left running
        ray.init(address="local", num_cpus=num_cpus, num_gpus=num_gpus, include_dashboard=False,
                 _node_ip_address="127.0.0.1")
    session = RaySession(True, time.perf_counter() - start, address)
    try:
        yield session
    finally:
        ray.shutdown()
