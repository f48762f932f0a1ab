"""The contrastive loss: InfoNCE over in-batch and hard negatives (sentence-transformers' implementations).

``MultipleNegativesRankingLoss`` scores each query against every positive and hard negative in the batch
(``batch * (1 + negatives)`` documents) with cosine similarity times ``scale = 1 / temperature``, and takes the
cross-entropy of the true positive. ``CachedMultipleNegativesRankingLoss`` computes the same loss with
GradCache (Gao et al., 2021): embeddings first without gradients in mini-batches, then gradients mini-batch by
mini-batch, so memory follows the mini-batch while the negatives follow the full batch. With
``gather_across_devices`` every rank also scores against all other ranks' documents, so N devices with batch B
train exactly like one device with batch N*B.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from reasonir.train.config import TrainConfig

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer


def build_loss(model: SentenceTransformer, config: TrainConfig, *, distributed: bool = False) -> torch.nn.Module:
    """InfoNCE at ``config.temperature``; GradCache when ``config.gradcache_mini_batch`` is set."""
    from sentence_transformers.sentence_transformer.losses import (
        CachedMultipleNegativesRankingLoss,
        MultipleNegativesRankingLoss,
    )

    gather = bool(config.gather_across_devices and distributed)
    if config.gradcache_mini_batch:
        return CachedMultipleNegativesRankingLoss(
            model, scale=config.scale, mini_batch_size=config.gradcache_mini_batch, gather_across_devices=gather
        )
    return MultipleNegativesRankingLoss(model, scale=config.scale, gather_across_devices=gather)
