"""A disk cache of document embeddings, so a second evaluation of the same corpus does not encode it again.

Entries are keyed by everything that changes the vectors: model identity, encoder backend, document instruction,
maximum sequence length, normalization, and a hash of the corpus content (ids, titles, texts). Each entry is one
``.npy`` file written to a temporary name and renamed, so a crash never leaves a half-written entry.

Example:
    >>> import numpy as np, tempfile
    >>> cache = EmbeddingCache(tempfile.mkdtemp())
    >>> key = embedding_key(model="m", instruction="", max_length=256, corpus_hash="abc")
    >>> cache.get(key) is None
    True
    >>> cache.put(key, np.ones((2, 3), dtype="float32"))
    >>> cache.get(key).shape
    (2, 3)
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from reasonir.data.atomic import atomic_open
from reasonir.data.records import Document
from reasonir.paths import cache_root


def default_cache_dir() -> Path:
    """``$REASONIR_CACHE/embeddings`` when set, else ``~/.cache/reasonir/embeddings``."""
    return cache_root() / "embeddings"


def corpus_hash(documents: Sequence[Document]) -> str:
    """SHA-256 over ids, titles and texts, each length-prefixed so that no two corpora collide by concatenation."""
    digest = hashlib.sha256()
    for doc in documents:
        for part in (doc.id, doc.title, doc.text):
            raw = part.encode("utf-8")
            digest.update(len(raw).to_bytes(8, "little"))
            digest.update(raw)
    return digest.hexdigest()


def embedding_key(*, model: str, instruction: str, max_length: int | None, corpus_hash: str,
                  normalized: bool = True, backend: str = "torch") -> str:
    """The cache key of a corpus's embeddings; ``backend`` is the encoder backend that ran (see
    :mod:`reasonir.models.backends`), so vectors of an int8 or bf16 encoder never stand in for fp32 ones, and
    ``auto`` shares the entries of the backend it resolved to (``auto`` itself is refused: it names no vectors).

    >>> k = dict(model="m", instruction="", max_length=256, corpus_hash="abc")
    >>> embedding_key(**k) == embedding_key(**k, backend="onnx-int8")
    False
    """
    if backend == "auto":
        raise ValueError("embedding_key takes the backend auto resolved to (DenseRetriever.encoder_backend)")
    parts = {"model": model, "instruction": instruction, "max_length": max_length, "normalized": normalized,
             "corpus": corpus_hash, "layout": 1}
    if backend != "torch":  # fp32 torch keys stay as they were before backends existed: old caches stay valid
        parts["backend"] = backend
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


class EmbeddingCache:
    """Embeddings stored as ``<root>/<key[:2]>/<key>.npy``."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        path = self._path(key)
        if not path.exists():
            return None
        try:
            return np.load(path)
        except (OSError, ValueError):  # unreadable entry: treat as a miss, it will be rewritten
            return None

    def put(self, key: str, embeddings: np.ndarray) -> None:
        path = self._path(key)
        # overwrite: a concurrent writer of the same key wrote the same vectors
        with atomic_open(path, overwrite=True, binary=True) as fh:
            np.save(fh, np.ascontiguousarray(embeddings, dtype=np.float32))
