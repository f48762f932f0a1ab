"""Evaluation with pytrec_eval, BRIGHT's metric set."""
from __future__ import annotations

from reasonir.evaluate.metrics import evaluate_run

__all__ = ["evaluate_run"]
