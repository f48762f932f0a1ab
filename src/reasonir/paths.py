"""Where reasonir keeps what it makes once and reuses: one root for every cache.

``$REASONIR_CACHE`` when set, else ``~/.cache/reasonir``. Below it: ``llm/`` (response cache), ``models/`` (the
embedded LLM's re-encoded weights), ``native/`` (llama.cpp builds), ``encoders/`` (ONNX exports and backend
probes), ``embeddings/`` (document vectors).

    >>> from unittest import mock
    >>> with mock.patch.dict("os.environ", {"REASONIR_CACHE": "/tmp/reasonir-doctest"}):
    ...     str(cache_root())
    '/tmp/reasonir-doctest'
"""
from __future__ import annotations

import os
from pathlib import Path

ENV_CACHE = "REASONIR_CACHE"


def cache_root() -> Path:
    """``$REASONIR_CACHE`` or ``~/.cache/reasonir``: the root of every reasonir cache."""
    return Path(os.environ.get(ENV_CACHE) or Path.home() / ".cache" / "reasonir").expanduser()


def models_cache_dir() -> Path:
    """``models/`` under :func:`cache_root`: the embedded LLM's weights re-encoded for an engine (an F16 GGUF for
    OpenVINO, transformers and CTranslate2 folders, a Q8_0 GGUF), each made once per machine."""
    return cache_root() / "models"
