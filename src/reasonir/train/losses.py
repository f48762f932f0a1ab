"""The losses: InfoNCE over in-batch and hard negatives, and distillation from a teacher's scores
(sentence-transformers' implementations).

``MultipleNegativesRankingLoss`` scores each query against every positive and hard negative in the batch
(``batch * (1 + negatives)`` documents) with cosine similarity times ``scale = 1 / temperature``, and takes the
cross-entropy of the true positive. ``CachedMultipleNegativesRankingLoss`` computes the same loss with
GradCache (Gao et al., 2021): embeddings first without gradients in mini-batches, then gradients mini-batch by
mini-batch, so memory follows the mini-batch while the negatives follow the full batch. With
``gather_across_devices`` every rank also scores against all other ranks' documents, so N devices with batch B
train exactly like one device with batch N*B.

Rows labelled by a teacher (``reasonir label``; the ``teacher_scores`` group of ``reasonir.train.rows``) train with
``DistillKLDivLoss`` instead: the KL divergence between the teacher's softmax over the row's texts (at
``teacher_temperature``) and the student's (at the model's own ``temperature``), as GPL-style pseudo-labelling
distils a stronger ranker into the encoder.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from reasonir.train.config import TrainConfig

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer


def contrastive_loss(model: SentenceTransformer, config: TrainConfig, *, distributed: bool = False) -> torch.nn.Module:
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


def distillation_loss(model: SentenceTransformer, config: TrainConfig) -> torch.nn.Module:
    """KL divergence to the teacher's distribution, at InfoNCE's gradient scale.

    sentence-transformers multiplies the KL by the student temperature squared (Hinton et al., 2015), which at
    MiniLM's 0.05 makes gradients 400 times smaller than InfoNCE's at the same learning rate; dividing it back
    keeps one learning rate right for both groups of a mixed run.
    """
    from sentence_transformers.sentence_transformer.losses import DistillKLDivLoss

    class TeacherKL(DistillKLDivLoss):
        def compute_loss_from_embeddings(self, embeddings, labels):
            return super().compute_loss_from_embeddings(embeddings, labels) / self.student_temperature ** 2

    return TeacherKL(model, student_temperature=config.temperature, teacher_temperature=config.teacher_temperature)


def build_loss(model: SentenceTransformer, config: TrainConfig, *, distributed: bool = False,
               groups: list[str] | None = None) -> torch.nn.Module | dict[str, torch.nn.Module]:
    """One loss, or one per training group when some rows carry teacher scores."""
    from reasonir.train.rows import DISTILLED

    if not groups or DISTILLED not in groups:
        return contrastive_loss(model, config, distributed=distributed)
    distill = distillation_loss(model, config)
    if len(groups) == 1:
        return distill
    contrastive = contrastive_loss(model, config, distributed=distributed)
    return {name: distill if name == DISTILLED else contrastive for name in groups}
