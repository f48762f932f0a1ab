"""Load sentence-transformers encoders and name them for caches."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from reasonir.models.backends import DEFAULT_ENCODER_BACKEND, EncoderBackend, apply_backend, effective_backend
from reasonir.models.resolve import resolve_model
from reasonir.optional import require

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

def import_sentence_transformers():
    return require("sentence_transformers", "models", purpose="dense retrieval")


def load_encoder(name_or_path: str | None = None, device: str | None = None, *,
                 backend: EncoderBackend = DEFAULT_ENCODER_BACKEND) -> SentenceTransformer:
    """Load a sentence-transformers model by name or folder, offline-safe (see :func:`resolve_model`).

    ``backend`` runs it in fp32 torch (default), bf16 torch, ONNX Runtime fp32 or int8 (see
    :mod:`reasonir.models.backends`; ONNX exports are made once per model and cached).

    Example:
        >>> model = load_encoder()  # doctest: +SKIP
        >>> model.encode(["a query"], normalize_embeddings=True).shape  # doctest: +SKIP
        (1, 384)
        >>> load_encoder(backend="onnx-int8")[0].model.path.name  # doctest: +SKIP
        'model.onnx'
    """
    backend = effective_backend(backend)  # an unknown name fails before seconds of loading
    st = import_sentence_transformers()
    resolved = resolve_model(name_or_path)
    # Folders trained with an LLM backbone name reasonir's own modules (models/bidirectional.py) in modules.json
    from reasonir.models.bidirectional import uses_reasonir_modules

    trusted = Path(resolved).is_dir() and uses_reasonir_modules(resolved)
    model = st.SentenceTransformer(resolved, device=device, trust_remote_code=trusted)
    if backend == DEFAULT_ENCODER_BACKEND:
        return model
    if backend != "torch-bf16" and device not in (None, "cpu"):
        raise ValueError(f"encoder backend {backend} runs on the CPU only, not on {device}")
    return apply_backend(model, backend, model_identity(name_or_path))


def folder_fingerprint(folder: str | Path) -> str:
    """A cheap identity for weights on disk: file names, sizes and modification times (no content read).

    A model retrained into the same folder gets a new fingerprint, so cached embeddings are not reused.
    """
    digest = hashlib.sha256()
    root = Path(folder)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def model_identity(name_or_path: str) -> str:
    """Identity of a model given by name: the resolved name, plus a fingerprint when it is a folder."""
    resolved = resolve_model(name_or_path)
    if Path(resolved).is_dir():
        return f"{Path(resolved).resolve()}@{folder_fingerprint(resolved)}"
    return resolved
