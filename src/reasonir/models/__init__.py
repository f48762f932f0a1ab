"""Encoders: name resolution (hub, local folder or packaged weights), loading, and instructions per model/task.

Nothing heavy is imported here: sentence-transformers loads inside :func:`load_encoder`.
"""
from __future__ import annotations

from reasonir.models.auto import BackendChoice, resolve_backend
from reasonir.models.backends import (
    DEFAULT_ENCODER_BACKEND, ENCODER_BACKENDS, EncoderBackend, ResolvedBackend, effective_backend,
)
from reasonir.models.encoder import load_encoder
from reasonir.models.loading import model_identity
from reasonir.models.instructions import Instructions, get_instructions
from reasonir.models.resolve import DEFAULT_ENCODER, ModelNotFoundError, hub_reachable, resolve_model

__all__ = [
    "DEFAULT_ENCODER", "DEFAULT_ENCODER_BACKEND", "ENCODER_BACKENDS", "BackendChoice", "EncoderBackend",
    "Instructions", "ResolvedBackend", "effective_backend", "ModelNotFoundError", "get_instructions",
    "hub_reachable", "load_encoder", "model_identity", "resolve_backend", "resolve_model",
]
