"""Query and document prefixes per model and per task, kept as data in ``instructions.json``.

A model entry is a template: ``query`` may contain ``{instruction}``, filled with the task's instruction (BRIGHT's
wording); ``query_without_task`` is used when no task is known. Models not in the table get no prefixes, which
is right for symmetric encoders such as all-MiniLM-L6-v2.

Example:
    >>> get_instructions("sentence-transformers/all-MiniLM-L6-v2", "biology")
    Instructions(query='', document='')
    >>> get_instructions("reasonir/ReasonIR-8B", "biology").query.splitlines()[1]
    'Given a Biology post, retrieve relevant passages that help answer the post'
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

TABLE_PATH = Path(__file__).with_name("instructions.json")


@dataclass(frozen=True)
class Instructions:
    """Prefixes prepended to queries and documents before encoding ("" means none)."""

    query: str = ""
    document: str = ""


@functools.lru_cache(maxsize=8)
def load_instruction_table(path: str | Path = TABLE_PATH) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _model_entry(models: dict, model: str) -> dict | None:
    if model in models:
        return models[model]
    # a local folder or a bare name ("all-MiniLM-L6-v2") matches the entry with the same last path part
    tail = Path(model.rstrip("/")).name.lower()
    for name, entry in models.items():
        if name.split("/")[-1].lower() == tail:
            return entry
    return None


def get_instructions(model: str | None, task: str | None = None, table: str | Path | None = None) -> Instructions:
    """Prefixes for ``model`` on ``task`` (a BRIGHT task name, a dataset name, or None)."""
    data = load_instruction_table(str(table or TABLE_PATH))
    entry = _model_entry(data.get("models", {}), model or "") or data.get("default", {})
    instruction = data.get("tasks", {}).get(task or "")
    template = entry.get("query", "")
    if "{instruction}" not in template:
        query = template
    elif instruction is not None:
        query = template.format(instruction=instruction)
    else:
        query = entry.get("query_without_task", "")
    return Instructions(query=query, document=entry.get("document", ""))


@dataclass(frozen=True)
class TrainingDefaults:
    """Training settings that depend on the base model (``instructions.json``: ``train`` per model)."""

    temperature: float
    learning_rate: float
    min_steps: int = 0
    max_epochs: float = 0.0  # the most epochs ``min_steps`` may raise training to; 0: no cap
    merge_base: float = 0.0


def get_training_defaults(model: str | None, is_llm: bool = False,
                          table: str | Path | None = None) -> TrainingDefaults:
    """The model's own entry, else the default for its kind (sentence-transformers encoder or LLM backbone).

    >>> get_training_defaults("sentence-transformers/all-MiniLM-L6-v2").temperature
    0.05
    >>> get_training_defaults("my-org/some-llm", is_llm=True).temperature
    0.02
    """
    data = load_instruction_table(str(table or TABLE_PATH))
    entry = (_model_entry(data.get("models", {}), model or "") or {}).get("train")
    if entry is None:
        entry = data["default_train"]["llm" if is_llm else "sentence-transformer"]
    return TrainingDefaults(**entry)
