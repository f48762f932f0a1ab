"""``train(config)``: contrastive fine-tuning on sentence-transformers' trainer, the ReasonIR recipe.

Order of work, so mistakes surface early and cheaply:

1. every data file is read and validated (a bad row raises DataError naming file, line, field);
2. the output folder is checked (never trained over silently: ``resume`` or ``overwrite``);
3. the settings that decide what is learned are printed (batch, negatives, effective negatives, temperature,
   lengths);
4. the model loads, ``SentenceTransformerTrainer`` runs with no-duplicate batches, InfoNCE (GradCache when
   asked), dev evaluation through reasonir's retriever, and checkpoints under ``OUT/checkpoints``;
5. the final model is written as a standard sentence-transformers folder with a model card.

Running out of memory raises :class:`TrainingMemoryError`, which names the settings to lower.

Example:
    >>> from reasonir.train import TrainConfig, train
    >>> path = train(TrainConfig(data=["rows.jsonl"], output_dir="model"))  # doctest: +SKIP
    >>> SentenceTransformer(str(path))  # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reasonir.train.card import SUMMARY_FILE, write_card
from reasonir.train.config import InstructionFormat, TrainConfig, TrainResult
from reasonir.train.rows import DISTILLED, format_document, format_query, load_sources, mix, rows_to_datasets
from reasonir.optional import require

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)
CHECKPOINTS = "checkpoints"


class NotEnoughDataError(ValueError):
    """No full batch of distinct texts could be formed, so no step ran (CLI exit code 2)."""

    exit_code = 2


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


def _world() -> tuple[int, int]:
    return int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))


JOB_FILE = "reasonir-job.json"  # in the checkpoints folder: the settings of the run that made them


def _job_settings(config: TrainConfig) -> dict:
    """What must match for a plain rerun to continue a run's checkpoints (not the resume/overwrite switches)."""
    return {k: v for k, v in config.to_dict().items() if k not in ("resume", "overwrite", "stop_after_steps")}


def _check_output_dir(config: TrainConfig) -> Path:
    """Never train over a folder silently; a rerun of the same command continues its own checkpoints."""
    out = Path(config.output_dir)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out}: exists and is not a folder")
    job = out / CHECKPOINTS / JOB_FILE
    if not (config.resume or config.overwrite) and job.is_file() and \
            json.loads(job.read_text()) == json.loads(json.dumps(_job_settings(config))):
        config.resume = True  # the same command again: continue where the interrupted run stopped
    if (out / SUMMARY_FILE).exists() and not (config.resume or config.overwrite):
        raise FileExistsError(f"{out}: already holds a finished model; pass --overwrite to train it again")
    if out.exists() and any(out.iterdir()) and not (config.resume or config.overwrite):
        raise FileExistsError(
            f"{out}: folder is not empty and was not left by the same command; pass --resume to continue its "
            "checkpoints or --overwrite to replace it"
        )
    return out


def _write_job(out: Path, config: TrainConfig) -> None:
    from reasonir.data.atomic import atomic_open

    (out / CHECKPOINTS).mkdir(parents=True, exist_ok=True)
    with atomic_open(out / CHECKPOINTS / JOB_FILE, overwrite=True) as fh:
        json.dump(_job_settings(config), fh)


def load_base_model(config: TrainConfig) -> tuple[SentenceTransformer, bool]:
    """The model to fine-tune and whether it is an LLM backbone (bidirectional decoder)."""
    SentenceTransformer = require("sentence_transformers", "models", purpose="training").SentenceTransformer
    from reasonir.models import resolve_model
    from reasonir.models.bidirectional import SUPPORTED_MODEL_TYPES, build_llm_encoder, uses_reasonir_modules

    path = resolve_model(config.base_model)
    folder = Path(path)
    backbone = config.backbone
    if backbone == "auto":
        if folder.is_dir() and (folder / "modules.json").is_file():
            backbone = "sentence-transformer"
        else:
            from transformers import AutoConfig

            model_type = AutoConfig.from_pretrained(path).model_type
            backbone = "llm" if model_type in SUPPORTED_MODEL_TYPES else "sentence-transformer"
    if backbone == "llm":
        model = build_llm_encoder(
            path, max_seq_length=max(config.query_max_length, config.document_max_length),
            lora_rank=config.lora_rank, lora_dropout=config.lora_dropout,
        )
        return model, True
    # Our own LLM-encoder modules are trusted; any other custom code still needs the user's consent.
    trusted = uses_reasonir_modules(folder)
    return SentenceTransformer(path, trust_remote_code=trusted), trusted


def resolve_style(config: TrainConfig, is_llm: bool) -> InstructionFormat:
    """GritLM format for LLM backbones (as ReasonIR-8B); none for BERT-style encoders such as all-MiniLM-L6-v2,
    which take no instructions at search time either (``reasonir eval`` passes none), so training and evaluation
    see queries alike. ``plain`` or ``e5`` train with prefixes when the evaluation will use them too."""
    if config.instruction_format != "auto":
        return config.instruction_format
    return "gritlm" if is_llm else "none"


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


def _callbacks(config: TrainConfig, history: list[tuple[int, float]], log: Callable[[str], None], rank: int):
    from transformers import TrainerCallback

    class Record(TrainerCallback):
        """Keeps the loss curve; stops (after a checkpoint) at ``stop_after_steps`` to rehearse interruptions."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                history.append((state.global_step, float(logs["loss"])))
                if rank == 0:
                    log(f"step {state.global_step}: loss {logs['loss']:.4f}")

        def on_step_end(self, args, state, control, **kwargs):
            if config.stop_after_steps is not None and state.global_step >= config.stop_after_steps:
                control.should_save = True
                control.should_training_stop = True

    return [Record()]


def _columns(dataset) -> list[str]:
    if isinstance(dataset, dict):
        return list(dict.fromkeys(c for d in dataset.values() for c in d.column_names))
    return dataset.column_names


def _last_checkpoint(folder: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(folder)) if folder.is_dir() else None


def _save_final(model: SentenceTransformer, out: Path) -> None:
    """Write the model next to (not over) the checkpoints, then move its files in: a crash never leaves half a model."""
    staging = out / ".final.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    model.save(str(staging))
    for entry in staging.iterdir():
        target = out / entry.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(entry, target)
    staging.rmdir()


def fit(config: TrainConfig, *, log: Callable[[str], None] = print) -> TrainResult:
    """Train and return the full record (loss curve, dev scores); :func:`train` returns just the folder."""
    world, rank = _world()
    # 1. data first: all files validated before anything heavy loads
    loaded = load_sources(config.data)
    mixture = mix(loaded, seed=config.seed, max_rows=config.max_rows)
    dev = None
    if config.dev_dir is not None:
        from reasonir.train.evaluator import load_dev_set

        dev = load_dev_set(config.dev_dir, config.dev_split, max_documents=config.dev_max_documents,
                           max_queries=config.dev_max_queries, seed=config.seed)
    # 2. never train over a user's folder silently
    out = _check_output_dir(config)
    checkpoint = _last_checkpoint(out / CHECKPOINTS) if config.resume else None
    if config.overwrite and not config.resume and rank == 0:
        shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)  # a fresh run must not pick up old checkpoints
    if rank == 0:
        _write_job(out, config)
    if config.resume and checkpoint is None and (out / SUMMARY_FILE).exists():
        raise FileExistsError(f"{out}: training already finished; nothing to resume (use --overwrite to retrain)")
    # 3. model, then the settings left to it, then the configuration that matters
    from sentence_transformers import SentenceTransformerTrainer
    from sentence_transformers.base.sampler import BatchSamplers, MultiDatasetBatchSamplers
    from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments

    from reasonir.models import DEFAULT_ENCODER
    from reasonir.models.instructions import get_training_defaults
    from reasonir.train.holdout import HOLDOUT_K, label_free_signals, split_holdout

    with memory_hint(config):
        model, is_llm = load_base_model(config)
    # the length the model reads at search time: training's own lengths must not change it (a demo trained on
    # 128-token documents once saved a model that cut every document at 128 tokens when searching)
    search_length = model.max_seq_length
    model.max_seq_length = max(config.query_max_length, config.document_max_length)
    defaults = get_training_defaults(config.base_model or DEFAULT_ENCODER, is_llm)
    config.resolve(defaults.temperature, defaults.learning_rate, defaults.min_steps, defaults.merge_base,
                   defaults.max_epochs)
    base_state = copy_state(model) if config.merge_base else None  # before any step (and before resuming)
    style = resolve_style(config, is_llm)
    train_rows, held = split_holdout(mixture.rows, config.holdout, config.holdout_min_rows, config.seed)
    query_prompt = format_query("", config.default_instruction, style)
    document_prompt = format_document("", style)
    dataset = rows_to_datasets(train_rows, config.negatives_per_query, style, config.batch_size * world,
                               keep_short=config.keep_rows_without_negatives,
                               default_instruction=config.default_instruction, distill=config.distill)
    groups = list(dataset)
    usable = sum(len(d) for d in dataset.values())
    steps_per_epoch = sum(len(d) // (config.batch_size * world) for d in dataset.values())
    epochs = config.epochs
    if config.max_steps <= 0 and steps_per_epoch and epochs * steps_per_epoch < (config.min_steps or 0):
        epochs = math.ceil(config.min_steps / steps_per_epoch)
        if config.max_epochs:  # tens of epochs over a few dozen rows memorise them (the demo's 20 rows, 30 steps)
            epochs = max(config.epochs, min(epochs, config.max_epochs))
    summary = config.summary(world) | {"epochs": epochs}
    if set(dataset) == {DISTILLED}:  # no contrastive group: in-batch and hard-negative counts do not apply
        summary |= {"negatives_per_query": None, "effective_negatives_per_query": None}
    if rank == 0:
        log("reasonir train: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
        log("data: " + ", ".join(f"{name} {n} rows" for name, n in mixture.rows_per_source.items())
            + f" (total {len(mixture.rows)}); "
            + ", ".join(f"{len(d)} {name.replace('_', ' ')}" for name, d in dataset.items())
            + (f"; {len(held)} held out for the label-free dev signal" if held else "")
            + (f"; resuming from {checkpoint}" if checkpoint else ""))
        log(f"model: {'LLM backbone, bidirectional attention' if is_llm else 'sentence-transformers encoder'};"
            f" instruction format {style}")
        if DISTILLED in dataset:  # the summary's negatives describe the contrastive groups only
            texts = len(dataset[DISTILLED].column_names) - 2  # anchor and label aside
            log(f"distilled: {len(dataset[DISTILLED])} rows, each query against its own {texts} texts (no in-batch "
                f"negatives), teacher temperature {config.teacher_temperature}")
        if epochs != config.epochs:
            log(f"few rows: {epochs:g} epochs so that training takes at least {config.min_steps} steps"
                + (f" (at most {config.max_epochs:g} epochs)" if config.max_epochs else ""))
        if usable < len(train_rows):
            log(f"left out {len(train_rows) - usable} rows (fewer than {config.negatives_per_query} hard negatives "
                "in a group too small for a batch)")
    if steps_per_epoch == 0:  # drop_last would leave an empty epoch
        raise NotEnoughDataError(
            f"{usable} usable training rows cannot fill one batch of {config.batch_size * world}; "
            "lower --batch-size (or --negatives, if rows were left out for lacking hard negatives) or add rows"
        )
    if len(dataset) == 1:
        dataset = next(iter(dataset.values()))
    from reasonir.train.losses import build_loss

    loss = build_loss(model, config, distributed=world > 1, groups=groups)
    evaluator = None
    if dev is not None:
        from reasonir.train.evaluator import RetrievalDevEvaluator

        evaluator = RetrievalDevEvaluator(dev, query_prompt=query_prompt, document_prompt=document_prompt)
    import torch

    args = SentenceTransformerTrainingArguments(
        output_dir=str(out / CHECKPOINTS),
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        num_train_epochs=epochs,
        max_steps=config.max_steps,
        warmup_steps=config.warmup_ratio,  # transformers 5 reads a float below 1 as a ratio of all steps
        weight_decay=config.weight_decay,
        seed=config.seed,
        bf16=config.bf16,
        **({"gradient_checkpointing": True} if config.gradient_checkpointing else {}),
        batch_sampler=BatchSamplers.NO_DUPLICATES,  # a duplicate text would be its own "negative"
        multi_dataset_batch_sampler=MultiDatasetBatchSamplers.PROPORTIONAL,  # each batch from one group, all rows used
        dataloader_drop_last=True,  # every step contrasts a full batch
        dataloader_num_workers=config.dataloader_num_workers,
        dataloader_pin_memory=torch.cuda.is_available(),
        logging_steps=config.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        eval_strategy="steps" if (evaluator is not None and config.eval_steps) else "no",
        eval_steps=config.eval_steps,
        report_to="none",
        disable_tqdm=rank != 0 or not config.progress,
        # without a GPU, accelerate runs data parallel on the CPU only when told so, over gloo
        use_cpu=not torch.cuda.is_available(),
        ddp_backend="gloo" if (world > 1 and not torch.cuda.is_available()) else None,
    )
    history: list[tuple[int, float]] = []
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=dataset, loss=loss, evaluator=evaluator,
        data_collator=_collator(model, config, _columns(dataset)),
        callbacks=_callbacks(config, history, log, rank),
    )
    if not config.progress:  # our own callback still logs each step through ``log``
        from transformers import PrinterCallback, ProgressCallback

        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
    result = TrainResult(output_dir=out, rows_per_source=mixture.rows_per_source, loss_history=history)
    training_length, model.max_seq_length = model.max_seq_length, search_length  # "before" scores as searched
    if evaluator is not None and checkpoint is None:
        result.dev_before = _strip(evaluator(model), evaluator.name)
        if rank == 0:
            log(f"dev before training: {_fmt(result.dev_before)}")
    result.holdout_rows = len(held)
    if held and rank == 0:
        result.holdout_before, result.teacher_tau_before, result.teacher_tau_rows = label_free_signals(
            model, held, mixture.rows, HOLDOUT_K, query_prompt, document_prompt)
        log(f"label-free dev, {len(held)} held-out synthesized rows: positive recall@{HOLDOUT_K} before training "
            f"{result.holdout_before:.3f}")
        if result.teacher_tau_rows:
            log(f"label-free dev, {result.teacher_tau_rows} held-out teacher-scored rows: agreement with the teacher "
                f"(Kendall tau over each row's texts) before training {result.teacher_tau_before:.3f}")
    model.max_seq_length = training_length
    started = time.perf_counter()
    with memory_hint(config):
        output = trainer.train(resume_from_checkpoint=checkpoint)
    result.train_seconds = time.perf_counter() - started
    result.steps, result.train_loss = trainer.state.global_step, float(output.training_loss)
    model.max_seq_length = search_length
    if result.steps == 0:
        raise NotEnoughDataError(
            f"no training step ran: {len(dataset)} examples gave no full batch of {config.batch_size * world} "
            "without a repeated text (batches never hold the same text twice); lower --batch-size or add rows"
        )
    stopped_early = config.stop_after_steps is not None and result.steps < trainer.state.max_steps
    if stopped_early:
        if rank == 0:
            log(f"stopped after {result.steps} steps as asked; checkpoint in {out / CHECKPOINTS}; rerun with --resume")
        return result
    if base_state is not None:
        merge_weights(model, base_state, config.merge_base)
        if rank == 0:
            log(f"merged back {config.merge_base:g} of the base model's weights (WiSE-FT)")
    if evaluator is not None:
        result.dev_after = _strip(evaluator(model), evaluator.name)
        if rank == 0:
            log(f"dev after training: {_fmt(result.dev_after)}")
    if held and rank == 0:
        result.holdout_after, result.teacher_tau_after, _ = label_free_signals(
            model, held, mixture.rows, HOLDOUT_K, query_prompt, document_prompt)
        verdict = "helped" if result.holdout_after > result.holdout_before else "did not help"
        log(f"label-free dev: positive recall@{HOLDOUT_K} {result.holdout_before:.3f} -> {result.holdout_after:.3f} "
            f"(training {verdict} on held-out synthesized rows)")
        if result.teacher_tau_rows:
            log(f"label-free dev: agreement with the teacher {result.teacher_tau_before:.3f} -> "
                f"{result.teacher_tau_after:.3f} (Kendall tau, {result.teacher_tau_rows} held-out rows)")
    if rank == 0:
        if query_prompt or document_prompt:  # stored so encode_query/encode_document reproduce training
            model.prompts = {"query": query_prompt, "document": document_prompt}
        if config.lora_rank:
            from reasonir.models.bidirectional import merge_lora

            merge_lora(model)  # the saved folder is a full model that loads without peft
        _save_final(model, out)
        record = {
            "base_model": config.base_model or "sentence-transformers/all-MiniLM-L6-v2",
            "data": [str(d) for d in config.data],
            "rows_per_source": mixture.rows_per_source,
            "available_per_source": mixture.available_per_source,
            "settings": summary,
            "instruction_format": style,
            "query_prompt": query_prompt,
            "document_prompt": document_prompt,
            "steps": result.steps,
            "train_loss": result.train_loss,
            "train_seconds": round(result.train_seconds, 1),
            "loss_history": history,
            "dev": str(config.dev_dir) if config.dev_dir else None,
            "dev_before": result.dev_before,
            "dev_after": result.dev_after,
            "holdout": {"rows": result.holdout_rows, "k": HOLDOUT_K, "recall_before": result.holdout_before,
                        "recall_after": result.holdout_after, "teacher_tau_rows": result.teacher_tau_rows,
                        "teacher_tau_before": result.teacher_tau_before,
                        "teacher_tau_after": result.teacher_tau_after},
            "config": config.to_dict(),
        }
        write_card(out, record)
        shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)  # finished: the model folder is the result
        log(f"model written to {out}")
    return result


def copy_state(model) -> dict:
    """A CPU copy of the model's floating-point weights (what :func:`merge_weights` mixes back)."""
    return {name: tensor.detach().to("cpu", copy=True) for name, tensor in model.state_dict().items()
            if tensor.is_floating_point()}


def merge_weights(model, base_state: dict, share: float) -> None:
    """In place: every floating-point weight becomes ``(1 - share) * fine-tuned + share * base`` (WiSE-FT,
    Wortsman et al., 2022: interpolating with the zero-shot weights keeps most of the fine-tuning gain and loses
    less where the fine-tuning data was narrow or noisy)."""
    import torch

    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name in base_state:
                tensor.mul_(1 - share).add_(base_state[name].to(tensor.device, tensor.dtype), alpha=share)


def _strip(metrics: dict[str, float], name: str) -> dict[str, float]:
    return {k.removeprefix(f"{name}_"): float(v) for k, v in metrics.items()}


def _fmt(scores: dict[str, Any] | None) -> str:
    return ", ".join(f"{k} {v:.4f}" for k, v in (scores or {}).items())


def train(config: TrainConfig, *, log: Callable[[str], None] = print) -> Path:
    """Fine-tune a retriever; returns the folder of the finished sentence-transformers model."""
    return fit(config, log=log).output_dir
