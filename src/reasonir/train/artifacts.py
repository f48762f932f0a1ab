"""What a training run leaves on disk: the output folder's checks, the checkpoints, and the finished model.

A run never trains over a folder silently: an empty or new folder trains, a folder holding this command's own
checkpoints (``checkpoints/reasonir-job.json`` equal to this run's settings) is continued, anything else needs
``resume`` or ``overwrite``. The finished model is written beside the checkpoints and moved in file by file, then
the card (:mod:`reasonir.train.card`) is written and the checkpoints removed: a crash never leaves half a model.

Example:
    >>> import tempfile
    >>> from reasonir.train.config import TrainConfig
    >>> out = Path(tempfile.mkdtemp()) / "model"
    >>> prepare_output(TrainConfig(data=["rows.jsonl"], output_dir=out), primary=True)[1] is None  # no checkpoint
    True
    >>> sorted(p.name for p in (out / CHECKPOINTS).iterdir())
    ['reasonir-job.json']
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from reasonir.data.atomic import atomic_open
from reasonir.train.card import SUMMARY_FILE, write_card
from reasonir.train.config import TrainConfig, TrainResult
from reasonir.train.holdout import HOLDOUT_K
from reasonir.train.plan import TrainingPlan
from reasonir.train.rows import Mixture

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

CHECKPOINTS = "checkpoints"
JOB_FILE = "reasonir-job.json"  # in the checkpoints folder: the settings of the run that made them


def _job_settings(config: TrainConfig) -> dict:
    """What must match for a plain rerun to continue a run's checkpoints (not the resume/overwrite switches)."""
    return {k: v for k, v in config.to_dict().items() if k not in ("resume", "overwrite", "stop_after_steps")}


def check_output_dir(config: TrainConfig) -> Path:
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
    (out / CHECKPOINTS).mkdir(parents=True, exist_ok=True)
    with atomic_open(out / CHECKPOINTS / JOB_FILE, overwrite=True) as fh:
        json.dump(_job_settings(config), fh)


def _last_checkpoint(folder: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(folder)) if folder.is_dir() else None


def prepare_output(config: TrainConfig, *, primary: bool) -> tuple[Path, str | None]:
    """The checked output folder and the checkpoint to resume from (None: start fresh); the first rank clears old
    checkpoints on ``overwrite`` and records this run's settings beside its checkpoints."""
    if not primary:
        return _follow_primary(config)
    out = check_output_dir(config)
    checkpoint = _last_checkpoint(out / CHECKPOINTS) if config.resume else None
    if config.overwrite and not config.resume:
        shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)  # a fresh run must not pick up old checkpoints
    _write_job(out, config)
    if config.resume and checkpoint is None and (out / SUMMARY_FILE).exists():
        raise FileExistsError(f"{out}: training already finished; nothing to resume (use --overwrite to retrain)")
    return out, checkpoint


def _follow_primary(config: TrainConfig, wait_s: float = 120.0) -> tuple[Path, str | None]:
    """Another rank's view: the first rank alone judges the folder (judging it here too raced with its writes: a
    folder it had begun to fill read as someone else's), so wait for its job file and resume as it does."""
    import time

    out = Path(config.output_dir)
    if config.overwrite and not config.resume:
        return out, None  # the first rank clears the old checkpoints: a fresh start
    job = out / CHECKPOINTS / JOB_FILE
    deadline = time.monotonic() + wait_s
    while not (job.is_file() and json.loads(job.read_text()) == json.loads(json.dumps(_job_settings(config)))):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{out}: the first rank did not accept the folder within {wait_s:.0f} s (see its error)")
        time.sleep(0.2)
    return out, _last_checkpoint(out / CHECKPOINTS)


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


def training_record(config: TrainConfig, base_model: str, plan: TrainingPlan, mixture: Mixture,
                    result: TrainResult) -> dict:
    """The machine-readable record kept beside the model (``reasonir_training.json``) and shown in its card."""
    return {
        "base_model": base_model,
        "data": [str(d) for d in config.data],
        "rows_per_source": mixture.rows_per_source,
        "available_per_source": mixture.available_per_source,
        "settings": plan.summary,
        "instruction_format": plan.style,
        "query_prompt": plan.query_prompt,
        "document_prompt": plan.document_prompt,
        "steps": result.steps,
        "train_loss": result.train_loss,
        "train_seconds": round(result.train_seconds, 1),
        "loss_history": result.loss_history,
        "dev": str(config.dev_dir) if config.dev_dir else None,
        "dev_before": result.dev_before,
        "dev_after": result.dev_after,
        "holdout": {"rows": result.holdout_rows, "k": HOLDOUT_K, "recall_before": result.holdout_before,
                    "recall_after": result.holdout_after, "teacher_tau_rows": result.teacher_tau_rows,
                    "teacher_tau_before": result.teacher_tau_before,
                    "teacher_tau_after": result.teacher_tau_after},
        "config": config.to_dict(),
    }


def save_model(model: SentenceTransformer, out: Path, config: TrainConfig, plan: TrainingPlan,
               record: dict) -> None:
    """The finished model as a standard sentence-transformers folder with its card; the checkpoints go."""
    if plan.query_prompt or plan.document_prompt:  # stored so encode_query/encode_document reproduce training
        model.prompts = {"query": plan.query_prompt, "document": plan.document_prompt}
    if config.lora_rank:
        from reasonir.models.bidirectional import merge_lora

        merge_lora(model)  # the saved folder is a full model that loads without peft
    _save_final(model, out)
    write_card(out, record)
    shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)  # finished: the model folder is the result
