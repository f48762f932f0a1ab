"""``train(config)``: contrastive fine-tuning on sentence-transformers' trainer, the ReasonIR recipe.

:func:`fit` strings small steps together, in an order that surfaces mistakes early and cheaply:

1. every data file is read and validated (a bad row raises DataError naming file, line, field;
   :mod:`~reasonir.train.rows`);
2. the output folder is checked (never trained over silently: ``resume`` or ``overwrite``;
   :mod:`~reasonir.train.artifacts`);
3. the model loads and fills the settings left to it (:mod:`~reasonir.train.model`); the plan (held-out rows,
   loss groups, epochs; :mod:`~reasonir.train.plan`) and the settings that decide what is learned are printed;
4. the signals are measured before training (:mod:`~reasonir.train.signals`), ``SentenceTransformerTrainer`` runs
   with no-duplicate batches, InfoNCE (GradCache when asked) or distillation, and checkpoints under
   ``OUT/checkpoints``; WiSE-FT merges the base weights back; the signals are measured again;
5. the final model is written as a standard sentence-transformers folder with a model card.

Running out of memory raises :class:`TrainingMemoryError`, which names the settings to lower.

Example:
    >>> from reasonir.train import TrainConfig, train
    >>> path = train(TrainConfig(data=["rows.jsonl"], output_dir="model"))  # doctest: +SKIP
    >>> SentenceTransformer(str(path))  # doctest: +SKIP
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reasonir.train.artifacts import CHECKPOINTS, prepare_output, save_model, training_record
from reasonir.train.config import TrainConfig, TrainResult
from reasonir.train.memory import TrainingMemoryError, memory_hint
from reasonir.train.model import (apply_model_defaults, base_model_name, copy_state, load_base_model, merge_weights,
                                  use_bf16)
from reasonir.train.plan import NotEnoughDataError, TrainingPlan, describe, plan_training
from reasonir.train.rows import load_sources, mix
from reasonir.train.signals import Signals

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer

__all__ = ["NotEnoughDataError", "TrainingMemoryError", "fit", "train"]


def _world() -> tuple[int, int]:
    return int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))


def _quiet(_: str) -> None:
    """The log of every rank but the first: one process reports for all."""


def fit(config: TrainConfig, *, log: Callable[[str], None] = print) -> TrainResult:
    """Train and return the full record (loss curve, dev scores); :func:`train` returns just the folder."""
    world, rank = _world()
    say = log if rank == 0 else _quiet
    mixture = mix(load_sources(config.data), seed=config.seed, max_rows=config.max_rows)  # data first, all validated
    dev = _dev_set(config)
    out, checkpoint = prepare_output(config, primary=rank == 0)
    with memory_hint(config):
        model, is_llm = load_base_model(config)
    # the length the model reads at search time: training's own lengths must not change it (a demo trained on
    # 128-token documents once saved a model that cut every document at 128 tokens when searching)
    search_length = model.max_seq_length
    model.max_seq_length = max(config.query_max_length, config.document_max_length)
    apply_model_defaults(config, is_llm)
    base_state = copy_state(model) if config.merge_base else None  # before any step (and before resuming)
    plan = plan_training(config, mixture.rows, is_llm, world)
    describe(plan, config, mixture, is_llm=is_llm, checkpoint=checkpoint, log=say)
    plan.check()
    signals = Signals(dev, plan.held, mixture.rows, query_prompt=plan.query_prompt,
                      document_prompt=plan.document_prompt, log=say, primary=rank == 0)
    result = TrainResult(output_dir=out, rows_per_source=mixture.rows_per_source)
    trainer = build_trainer(model, config, plan, signals.evaluator, out, world, _recorder(config, result, say))
    training_length, model.max_seq_length = model.max_seq_length, search_length  # "before" scores as searched
    signals.before(model, result, resumed=checkpoint is not None)
    model.max_seq_length = training_length
    _run(trainer, config, checkpoint, result)
    model.max_seq_length = search_length
    if result.steps == 0:
        raise NotEnoughDataError(
            f"no training step ran: {len(plan.dataset())} examples gave no full batch of {plan.global_batch} "
            "without a repeated text (batches never hold the same text twice); lower --batch-size or add rows"
        )
    if config.stop_after_steps is not None and result.steps < trainer.state.max_steps:
        say(f"stopped after {result.steps} steps as asked; checkpoint in {out / CHECKPOINTS}; rerun with --resume")
        return result
    if base_state is not None:
        merge_weights(model, base_state, config.merge_base)
        say(f"merged back {config.merge_base:g} of the base model's weights (WiSE-FT)")
    signals.after(model, result)
    if rank == 0:
        save_model(model, out, config, plan, training_record(config, base_model_name(config), plan, mixture, result))
        say(f"model written to {out}")
    return result


def _dev_set(config: TrainConfig):
    if config.dev_dir is None:
        return None
    from reasonir.train.evaluator import load_dev_set

    return load_dev_set(config.dev_dir, config.dev_split, max_documents=config.dev_max_documents,
                        max_queries=config.dev_max_queries, seed=config.seed)


def _run(trainer: SentenceTransformerTrainer, config: TrainConfig, checkpoint: str | None,
         result: TrainResult) -> None:
    """The optimisation loop (timed alone), its steps and final loss into ``result``."""
    started = time.perf_counter()
    with memory_hint(config):
        output = trainer.train(resume_from_checkpoint=checkpoint)
    result.train_seconds = time.perf_counter() - started
    result.steps, result.train_loss = trainer.state.global_step, float(output.training_loss)


def build_trainer(model: SentenceTransformer, config: TrainConfig, plan: TrainingPlan, evaluator: Any, out: Path,
                  world: int, callback: Any) -> SentenceTransformerTrainer:
    """sentence-transformers' trainer over the plan's dataset, with its loss(es), the dev evaluator and
    ``callback`` (:func:`_recorder`)."""
    from sentence_transformers import SentenceTransformerTrainer

    from reasonir.train.losses import build_loss

    loss = build_loss(model, config, distributed=world > 1, groups=list(plan.groups))
    dataset = plan.dataset()
    trainer = SentenceTransformerTrainer(
        model=model, args=training_arguments(config, out, plan, evaluator is not None, world), loss=loss,
        train_dataset=dataset, evaluator=evaluator, data_collator=_collator(model, config, _columns(dataset)),
        callbacks=[callback],
    )
    if not config.progress:  # our own callback still logs each step through ``log``
        from transformers import PrinterCallback, ProgressCallback

        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
    return trainer


def training_arguments(config: TrainConfig, out: Path, plan: TrainingPlan, evaluates: bool, world: int):
    """The trainer's arguments: reasonir's batches (no duplicate texts where in-batch negatives are used, full
    batches, one group per batch), schedule, checkpoints, precision and devices."""
    import torch
    from sentence_transformers.base.sampler import BatchSamplers, MultiDatasetBatchSamplers
    from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments

    _, rank = _world()
    return SentenceTransformerTrainingArguments(
        output_dir=str(out / CHECKPOINTS),
        per_device_train_batch_size=config.batch_size // plan.accumulation,
        gradient_accumulation_steps=plan.accumulation,  # distilled rows: the same step in passes (plan.py)
        learning_rate=config.learning_rate,
        num_train_epochs=plan.epochs,
        max_steps=config.max_steps,
        warmup_steps=config.warmup_ratio,  # transformers 5 reads a float below 1 as a ratio of all steps
        weight_decay=config.weight_decay,
        seed=config.seed,
        bf16=use_bf16(config.bf16),
        **({"gradient_checkpointing": True} if config.gradient_checkpointing else {}),
        # a duplicate text would be its own "negative"; distilled rows see only their own texts
        batch_sampler=BatchSamplers.NO_DUPLICATES if plan.in_batch_negatives else BatchSamplers.BATCH_SAMPLER,
        multi_dataset_batch_sampler=MultiDatasetBatchSamplers.PROPORTIONAL,  # each batch from one group, all rows used
        dataloader_drop_last=True,  # every step contrasts a full batch
        dataloader_num_workers=config.dataloader_num_workers,
        dataloader_pin_memory=torch.cuda.is_available(),
        logging_steps=config.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        eval_strategy="steps" if (evaluates and config.eval_steps) else "no",
        eval_steps=config.eval_steps,
        report_to="none",
        disable_tqdm=rank != 0 or not config.progress,
        # without a GPU, accelerate runs data parallel on the CPU only when told so, over gloo
        use_cpu=not torch.cuda.is_available(),
        ddp_backend="gloo" if (world > 1 and not torch.cuda.is_available()) else None,
    )


def _collator(model: SentenceTransformer, config: TrainConfig, columns: list[str]):
    """Queries and documents truncated to their own max lengths (tasks "query"/"document" carry the lengths);
    with one length for both, the trainer's own default collator is used unchanged."""
    from sentence_transformers.sentence_transformer.data_collator import SentenceTransformerDataCollator

    if config.query_max_length == config.document_max_length:
        model.max_seq_length = config.query_max_length
        return SentenceTransformerDataCollator(preprocess_fn=model.preprocess)
    return SentenceTransformerDataCollator(
        preprocess_fn=model.preprocess,
        router_mapping={c: ("query" if c == "anchor" else "document") for c in columns},
        max_length={"query": config.query_max_length, "document": config.document_max_length},
    )


def _recorder(config: TrainConfig, result: TrainResult, say: Callable[[str], None]):
    """A trainer callback that keeps the loss curve in ``result`` and stops (after a checkpoint) at
    ``stop_after_steps`` to rehearse interruptions."""
    from transformers import TrainerCallback

    class Record(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                result.loss_history.append((state.global_step, float(logs["loss"])))
                say(f"step {state.global_step}: loss {logs['loss']:.4f}")

        def on_step_end(self, args, state, control, **kwargs):
            if config.stop_after_steps is not None and state.global_step >= config.stop_after_steps:
                control.should_save = True
                control.should_training_stop = True

    return Record()


def _columns(dataset) -> list[str]:
    if isinstance(dataset, Mapping):
        return list(dict.fromkeys(c for d in dataset.values() for c in d.column_names))
    return dataset.column_names


def train(config: TrainConfig, *, log: Callable[[str], None] = print) -> Path:
    """Fine-tune a retriever; returns the folder of the finished sentence-transformers model."""
    return fit(config, log=log).output_dir
