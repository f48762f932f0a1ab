"""Load sentence-transformers encoders in the backend asked for, or the one ``auto`` picks."""
from __future__ import annotations

from typing import TYPE_CHECKING

from reasonir.models.auto import resolve_backend
from reasonir.models.backends import DEFAULT_ENCODER_BACKEND, EncoderBackend, check_backend, effective_backend
from reasonir.models.loading import load_as

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def load_encoder(name_or_path: str | None = None, device: str | None = None, *,
                 backend: EncoderBackend = DEFAULT_ENCODER_BACKEND) -> SentenceTransformer:
    """Load a sentence-transformers model by name or folder, offline-safe (see :func:`resolve_model`).

    ``backend`` runs it in fp32 torch, bf16 torch, ONNX Runtime fp32 or int8 (see :mod:`reasonir.models.backends`;
    ONNX exports are made once per model and cached), or, with ``auto`` (the default), in the one of them that
    :func:`reasonir.models.auto.resolve_backend` picks for this model on this CPU.

    Example:
        >>> model = load_encoder()  # doctest: +SKIP
        >>> model.encode(["a query"], normalize_embeddings=True).shape  # doctest: +SKIP
        (1, 384)
        >>> load_encoder(backend="onnx-int8")[0].model.path.name  # doctest: +SKIP
        'model.onnx'
    """
    if check_backend(backend) == "auto":  # an unknown name fails here, before seconds of loading
        resolved = resolve_backend("auto", name_or_path, device).backend
    else:
        resolved = effective_backend(backend)
    return load_as(name_or_path, device, resolved)
