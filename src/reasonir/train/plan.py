"""The plan of one training run, decided before the trainer starts: which rows train (and which are held out for
the label-free signal), in which loss groups, at which batch size, how many epochs, and the settings printed at the
start.

Held out: the pseudo-dev rows when the data has any (``reasonir.synth.devset``: synthesized to judge models, never
trained on), else a share of the seeds. Batches: groups that learn from in-batch negatives never hold a text twice
(a repeated text would be its own negative), so rows that share texts (mined negatives of a small corpus) fill
fewer batches than ``rows // batch``; the plan counts the batches sentence-transformers' no-duplicates sampler
really forms and halves the batch size until at least one does, instead of failing. Distilled rows train against
their own texts only, so they take plain batches, and pass through the model a few rows at a time (gradients
accumulated to the same step: each row's loss is its own, so the update is the same): a labelled row carries 8
texts or more, and 32 of them at once (288 texts of 256 tokens) took over 20 GB of memory to train MiniLM.

Example:
    >>> from reasonir.train.config import TrainConfig
    >>> config = TrainConfig(data=["rows.jsonl"], output_dir="m", epochs=1.0, min_steps=30, max_epochs=3.0)
    >>> epochs_for(config, steps_per_epoch=4)  # 30 steps would take 8 epochs; 3 at the most
    3.0
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reasonir.data.records import TrainingRow
from reasonir.train.config import InstructionFormat, TrainConfig
from reasonir.train.holdout import split_holdout
from reasonir.train.rows import DISTILLED, Mixture, format_document, format_query, rows_to_datasets

if TYPE_CHECKING:
    import datasets


MIN_BATCH = 2  # the smallest batch with an in-batch negative
NO_DUPLICATE_CHECK_ROWS = 20_000  # count real no-duplicate batches up to this many rows (a second or so)


class NotEnoughDataError(ValueError):
    """No full batch of distinct texts could be formed, so no step ran (CLI exit code 2)."""

    exit_code = 2


def resolve_style(config: TrainConfig, is_llm: bool) -> InstructionFormat:
    """GritLM format for LLM backbones (as ReasonIR-8B); none for BERT-style encoders such as all-MiniLM-L6-v2,
    which take no instructions at search time either (``reasonir eval`` passes none), so training and evaluation
    see queries alike. ``plain`` or ``e5`` train with prefixes when the evaluation will use them too."""
    if config.instruction_format != "auto":
        return config.instruction_format
    return "gritlm" if is_llm else "none"


def epochs_for(config: TrainConfig, steps_per_epoch: int) -> float:
    """``config.epochs``, raised until training takes ``min_steps`` steps, but to at most ``max_epochs``."""
    epochs = config.epochs
    if config.max_steps <= 0 and steps_per_epoch and epochs * steps_per_epoch < (config.min_steps or 0):
        epochs = math.ceil(config.min_steps / steps_per_epoch)
        if config.max_epochs:  # tens of epochs over a few dozen rows memorise them (the demo's 20 rows, 30 steps)
            epochs = max(config.epochs, min(epochs, config.max_epochs))
    return epochs


@dataclass
class TrainingPlan:
    """What one run trains on and for how long (see :func:`plan_training`)."""

    style: InstructionFormat
    query_prompt: str  # what every query is prefixed with (the instruction format's, empty for "none")
    document_prompt: str
    rows: list[TrainingRow]  # the training rows, the held-out ones left out
    held: list[TrainingRow]  # held out for the label-free signal
    groups: dict[str, datasets.Dataset]  # loss group -> its dataset (reasonir.train.rows.rows_to_datasets)
    global_batch: int  # per-device batch x devices
    epochs: float
    summary: dict[str, object]  # the settings printed at the start and kept in the model card
    steps_per_epoch: int = 0  # full batches per epoch, as the batch samplers form them
    lowered_from: int | None = None  # the batch size asked for, when it had to be lowered to fit the rows
    accumulation: int = 1  # passes per step (distilled rows only): each pass encodes batch / accumulation rows

    @property
    def usable(self) -> int:
        return sum(len(d) for d in self.groups.values())

    @property
    def in_batch_negatives(self) -> bool:
        """True when a group learns from the batch's other documents (then batches hold no text twice)."""
        return any(name != DISTILLED for name in self.groups)

    def dataset(self) -> datasets.Dataset | dict[str, datasets.Dataset]:
        """What the trainer takes: the one group's dataset, or all groups by name."""
        return next(iter(self.groups.values())) if len(self.groups) == 1 else self.groups

    def check(self) -> None:
        """Raise :class:`NotEnoughDataError` when not one full batch can be formed even at the smallest batch size
        (drop_last would train nothing)."""
        if self.steps_per_epoch == 0:
            raise NotEnoughDataError(
                f"{self.usable} usable training rows cannot fill one batch of {self.global_batch} distinct texts; "
                "add rows (or lower --negatives, if rows were left out for lacking hard negatives)"
            )


def held_out(rows: Sequence[TrainingRow], config: TrainConfig) -> tuple[list[TrainingRow], list[TrainingRow]]:
    """(training rows, held-out rows): the pseudo-dev rows when there are any, else a share of the seeds. Pseudo-dev
    rows never train; ``holdout`` 0 switches the signal off, so they are then not measured either."""
    dev = [r for r in rows if r.is_dev]
    if dev:
        return [r for r in rows if not r.is_dev], dev if config.holdout > 0 else []
    return split_holdout(rows, config.holdout, config.holdout_min_rows, config.seed)


def full_batches(groups: dict[str, datasets.Dataset], batch: int, seed: int) -> int:
    """Full batches per epoch: distilled groups in plain batches, the others as sentence-transformers'
    no-duplicates sampler forms them (it skips a row whose texts the batch already holds)."""
    from sentence_transformers.base.sampler import NoDuplicatesBatchSampler

    contrastive = any(name != DISTILLED for name in groups)
    total = 0
    for name, data in groups.items():
        if name == DISTILLED and not contrastive or len(data) // batch == 0:
            total += len(data) // batch
        elif len(data) > NO_DUPLICATE_CHECK_ROWS:  # large groups: duplicates cost a few batches, not all
            total += len(data) // batch
        else:
            total += sum(1 for _ in NoDuplicatesBatchSampler(data, batch, drop_last=True, seed=seed))
    return total


def passes_per_step(config: TrainConfig, groups: dict[str, datasets.Dataset]) -> int:
    """Forward passes per optimizer step: 1, except for distilled rows alone, which are split into the fewest
    passes (a divisor of the batch) that each encode no more texts than a contrastive step of the same settings
    does (``batch * (2 + negatives_per_query)``: a query, its positive and its hard negatives per row)."""
    if set(groups) != {DISTILLED}:
        return 1  # in-batch negatives need the whole batch in one pass
    texts_per_row = len(groups[DISTILLED].column_names) - 1  # every column but the label is a text
    budget = config.batch_size * (2 + config.negatives_per_query)
    rows = max((d for d in range(1, config.batch_size + 1) if config.batch_size % d == 0 and d * texts_per_row <= budget),
               default=1)
    return config.batch_size // rows


def plan_training(config: TrainConfig, rows: Sequence[TrainingRow], is_llm: bool, world: int) -> TrainingPlan:
    """Hold out the dev rows (or a share of the seeds), build the loss groups from the rest at a batch size they
    can fill, and size the run (``config`` already resolved against the base model's defaults; its
    ``batch_size`` is lowered when the rows cannot fill one batch)."""
    style = resolve_style(config, is_llm)
    train_rows, held = held_out(rows, config)
    asked = config.batch_size
    while True:
        global_batch = config.batch_size * world
        groups = rows_to_datasets(train_rows, config.negatives_per_query, style, global_batch,
                                  keep_short=config.keep_rows_without_negatives,
                                  default_instruction=config.default_instruction, distill=config.distill)
        steps = full_batches(groups, global_batch, config.seed)
        if steps > 0 or config.batch_size <= MIN_BATCH:
            break
        config.batch_size = max(MIN_BATCH, config.batch_size // 2)
    plan = TrainingPlan(style, format_query("", config.default_instruction, style), format_document("", style),
                        train_rows, held, groups, global_batch, config.epochs, {}, steps,
                        asked if config.batch_size != asked else None, passes_per_step(config, groups))
    plan.epochs = epochs_for(config, plan.steps_per_epoch)
    from reasonir.train.model import use_bf16  # torch only when asked

    plan.summary = config.summary(world) | {"epochs": plan.epochs, "bf16": use_bf16(config.bf16)}
    if set(groups) == {DISTILLED}:  # no contrastive group: in-batch and hard-negative counts do not apply
        plan.summary |= {"negatives_per_query": None, "effective_negatives_per_query": None}
    return plan


def describe(plan: TrainingPlan, config: TrainConfig, mixture: Mixture, *, is_llm: bool, checkpoint: str | None,
             log: Callable[[str], None]) -> None:
    """The lines printed before training: settings, data, model, distillation, raised epochs, rows left out."""
    log("reasonir train: " + ", ".join(f"{k}={v}" for k, v in plan.summary.items()))
    log("data: " + ", ".join(f"{name} {n} rows" for name, n in mixture.rows_per_source.items())
        + f" (total {len(mixture.rows)}); "
        + ", ".join(f"{len(d)} {name.replace('_', ' ')}" for name, d in plan.groups.items())
        + (f"; {len(plan.held)} held out for the label-free dev signal" if plan.held else "")
        + (f"; resuming from {checkpoint}" if checkpoint else ""))
    log(f"model: {'LLM backbone, bidirectional attention' if is_llm else 'sentence-transformers encoder'};"
        f" instruction format {plan.style}")
    if DISTILLED in plan.groups:  # the summary's negatives describe the contrastive groups only
        texts = len(plan.groups[DISTILLED].column_names) - 2  # anchor and label aside
        log(f"distilled: {len(plan.groups[DISTILLED])} rows, each query against its own {texts} texts (no in-batch "
            f"negatives), teacher temperature {config.teacher_temperature}"
            + (f"; each step of {config.batch_size} rows in {plan.accumulation} passes of {config.batch_size // plan.accumulation}"
               " (the same update, a fraction of the memory)" if plan.accumulation > 1 else ""))
    if plan.lowered_from is not None:
        why = (f"{plan.usable} rows cannot fill a batch of {plan.lowered_from}" if plan.usable < plan.lowered_from
               else f"these rows cannot fill a batch of {plan.lowered_from} distinct texts (rows of a small corpus "
                    "share their mined negatives)")
        log(f"batch size {config.batch_size}: {why}")
    if plan.epochs != config.epochs:
        log(f"few rows: {plan.epochs:g} epochs so that training takes at least {config.min_steps} steps"
            + (f" (at most {config.max_epochs:g} epochs)" if config.max_epochs else ""))
    if plan.usable < len(plan.rows):
        log(f"left out {len(plan.rows) - plan.usable} rows (fewer than {config.negatives_per_query} hard negatives "
            "in a group too small for a batch)")

