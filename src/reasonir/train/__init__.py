"""Retriever training: contrastive fine-tuning on sentence-transformers' trainer, with the ReasonIR recipe.

InfoNCE over in-batch and hard negatives at the base model's temperature (``models/instructions.json``:
all-MiniLM-L6-v2 0.05, as it was trained; LLM backbones ReasonIR's 0.02), distillation of rows a teacher scored
(``reasonir label``), no duplicate texts within a batch, GritLM-style instructions on queries, several data files
mixed by ratio, GradCache for large batches, cross-device negatives when distributed, dev evaluation through
reasonir's retriever, checkpoints and resume, a model card.

Heavy libraries load inside :func:`train`, so importing this package is cheap.
"""
from __future__ import annotations

from reasonir.train.config import DataSource, TrainConfig, TrainResult
from reasonir.train.memory import TrainingMemoryError
from reasonir.train.plan import NotEnoughDataError
from reasonir.train.trainer import fit, train

__all__ = ["DataSource", "NotEnoughDataError", "TrainConfig", "TrainResult", "TrainingMemoryError", "fit", "train"]
