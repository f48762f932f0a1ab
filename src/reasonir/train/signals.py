"""Did training help? The signals measured before and after training, each printed as it is known.

- the dev set's scores (``TrainConfig.dev_dir``: nDCG@10, recall@100, MAP, MRR through reasonir's own retriever,
  :mod:`reasonir.train.evaluator`), on every rank, as the trainer also evaluates;
- label-free, on the first rank only: the held-out synthesized rows' positive recall@``HOLDOUT_K`` among the data's
  texts and, for rows labelled by a teacher, the model's agreement with the teacher (Kendall tau;
  :mod:`reasonir.train.holdout`).

Example (no dev set, no held-out rows: nothing to measure):
    >>> from reasonir.train.config import TrainResult
    >>> signals = Signals(None, [], [], query_prompt="", document_prompt="", log=print, primary=True)
    >>> result = TrainResult(output_dir="m")
    >>> signals.before(None, result, resumed=False); signals.evaluator is None, result.holdout_rows
    (True, 0)
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from reasonir.data.records import Dataset, TrainingRow
from reasonir.train.config import TrainResult
from reasonir.train.holdout import HOLDOUT_K, label_free_signals


class Signals:
    """The dev evaluator (handed to the trainer too) and the held-out rows, with what to print."""

    def __init__(self, dev: Dataset | None, held: Sequence[TrainingRow], everything: Sequence[TrainingRow], *,
                 query_prompt: str, document_prompt: str, log: Callable[[str], None], primary: bool) -> None:
        self.evaluator = None
        if dev is not None:
            from reasonir.train.evaluator import RetrievalDevEvaluator

            self.evaluator = RetrievalDevEvaluator(dev, query_prompt=query_prompt, document_prompt=document_prompt)
        self.held, self.everything, self.log, self.primary = list(held), list(everything), log, primary
        self.prompts = (query_prompt, document_prompt)

    def _label_free(self, model) -> tuple[float, float | None, int]:
        return label_free_signals(model, self.held, self.everything, HOLDOUT_K, *self.prompts)

    def before(self, model, result: TrainResult, *, resumed: bool) -> None:
        """Scores of the base model (the dev set's only when not resuming: the model is no longer the base)."""
        if self.evaluator is not None and not resumed:
            result.dev_before = _strip(self.evaluator(model), self.evaluator.name)
            self.log(f"dev before training: {_fmt(result.dev_before)}")
        result.holdout_rows = len(self.held)
        if self.held and self.primary:
            result.holdout_before, result.teacher_tau_before, result.teacher_tau_rows = self._label_free(model)
            self.log(f"label-free dev, {len(self.held)} held-out synthesized rows: positive recall@{HOLDOUT_K} before "
                     f"training {result.holdout_before:.3f}")
            if result.teacher_tau_rows:
                self.log(f"label-free dev, {result.teacher_tau_rows} held-out teacher-scored rows: agreement with the "
                         f"teacher (Kendall tau over each row's texts) before training {result.teacher_tau_before:.3f}")

    def after(self, model, result: TrainResult) -> None:
        """Scores of the trained (and merged) model, beside the ones before."""
        if self.evaluator is not None:
            result.dev_after = _strip(self.evaluator(model), self.evaluator.name)
            self.log(f"dev after training: {_fmt(result.dev_after)}")
        if self.held and self.primary:
            result.holdout_after, result.teacher_tau_after, _ = self._label_free(model)
            verdict = "helped" if result.holdout_after > result.holdout_before else "did not help"
            self.log(f"label-free dev: positive recall@{HOLDOUT_K} {result.holdout_before:.3f} -> "
                     f"{result.holdout_after:.3f} (training {verdict} on held-out synthesized rows)")
            if result.teacher_tau_rows:
                self.log(f"label-free dev: agreement with the teacher {result.teacher_tau_before:.3f} -> "
                         f"{result.teacher_tau_after:.3f} (Kendall tau, {result.teacher_tau_rows} held-out rows)")


def _strip(metrics: dict[str, float], name: str) -> dict[str, float]:
    return {k.removeprefix(f"{name}_"): float(v) for k, v in metrics.items()}


def _fmt(scores: dict[str, Any] | None) -> str:
    return ", ".join(f"{k} {v:.4f}" for k, v in (scores or {}).items())
