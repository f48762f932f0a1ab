"""Where reasonir keeps what it makes once and reuses: one root for every cache.

``$REASONIR_CACHE`` when set, else ``~/.cache/reasonir``. Below it: ``llm/`` (response cache), ``models/`` (the
embedded LLM's re-encoded weights), ``native/`` (llama.cpp builds), ``encoders/`` (ONNX exports and backend
probes), ``embeddings/`` (document vectors).

    >>> import os
    >>> os.environ["REASONIR_CACHE"] = "/tmp/reasonir-doctest"
    >>> str(cache_root())
    '/tmp/reasonir-doctest'
    >>> del os.environ["REASONIR_CACHE"]
"""
from __future__ import annotations

import os
from pathlib import Path

ENV_CACHE = "REASONIR_CACHE"


def cache_root() -> Path:
    """``$REASONIR_CACHE`` or ``~/.cache/reasonir``: the root of every reasonir cache."""
    return Path(os.environ.get(ENV_CACHE) or Path.home() / ".cache" / "reasonir").expanduser()
