"""Running out of memory while training: a :class:`TrainingMemoryError` that names the settings to lower.

Example:
    >>> from reasonir.train.config import TrainConfig
    >>> with memory_hint(TrainConfig(data=["rows.jsonl"], output_dir="m")):
    ...     raise MemoryError
    Traceback (most recent call last):
    ...
    reasonir.train.memory.TrainingMemoryError: out of memory at batch size 32 with 1 negatives per query (max lengths 128/256 tokens). Lower --batch-size, or keep the batch and use GradCache (--gradcache-mini-batch 8), or lower --max-length (--query-max-length/--document-max-length), or --negatives.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

from reasonir.train.config import TrainConfig


class TrainingMemoryError(MemoryError):
    """The run did not fit in memory; the message says which settings to lower (CLI exit code 3)."""

    exit_code = 3


def memory_advice(config: TrainConfig) -> str:
    lowest = f"--gradcache-mini-batch {max(1, (config.gradcache_mini_batch or config.batch_size) // 4)}"
    return (
        f"out of memory at batch size {config.batch_size} with {config.negatives_per_query} negatives per query"
        f" (max lengths {config.query_max_length}/{config.document_max_length} tokens"
        + (f", GradCache mini-batch {config.gradcache_mini_batch}" if config.gradcache_mini_batch else "")
        + f"). Lower --batch-size, or keep the batch and use GradCache ({lowest}), or lower --max-length"
        " (--query-max-length/--document-max-length), or --negatives."
    )


def _is_oom(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, (MemoryError, torch.OutOfMemoryError)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


@contextlib.contextmanager
def memory_hint(config: TrainConfig) -> Iterator[None]:
    """Turn an out-of-memory failure into a TrainingMemoryError that names what to lower."""
    try:
        yield
    except BaseException as exc:  # noqa: BLE001 - only memory failures are translated, the rest re-raised
        if isinstance(exc, TrainingMemoryError) or not _is_oom(exc):
            raise
        raise TrainingMemoryError(memory_advice(config)) from exc
