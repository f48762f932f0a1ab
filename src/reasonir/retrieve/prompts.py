"""Prompts for query rewriting and reranking, as data files in ``retrieve/prompts/`` (replaceable with ``folder=``).

``rewrite.md`` follows BRIGHT's "reasoning" queries (reason.py: identify the essential problem, reason about what
would help, draft an answer); ``rerank_pointwise.md`` asks for a 0-5 relevance score (ReasonIR's reranker);
``rerank_listwise.md`` asks for a ranking of a window of passages (RankGPT, Sun et al., 2023; BRIGHT's rerank.py).
``tasks.json`` names, per task, what the query and the documents are, so one template serves every BRIGHT task.

Example:
    >>> p = load_prompt("rerank_pointwise")
    >>> "{document}" in p
    True
    >>> task_kinds("leetcode")["query"], task_kinds("no-such-task") == task_kinds(None)
    ('a coding problem', True)
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from reasonir.llm.prompt_files import PromptError, check_slots, render

PACKAGED = Path(__file__).with_name("prompts")
SLOTS: dict[str, frozenset[str]] = {
    "rewrite": frozenset({"query", "words"}),
    "rerank_pointwise": frozenset({"query", "document", "query_kind", "document_kind"}),
    "rerank_listwise": frozenset({"query", "passages", "query_kind", "document_kind"}),
}

__all__ = ["PromptError", "load_prompt", "render", "task_kinds"]


def load_prompt(name: str, folder: str | Path | None = None) -> str:
    """The packaged prompt ``name`` or ``folder/<name>.md``; a missing or unknown slot raises PromptError."""
    if name not in SLOTS:
        raise PromptError(f"unknown prompt {name!r}; known: {sorted(SLOTS)}")
    path = Path(folder) / f"{name}.md" if folder and (Path(folder) / f"{name}.md").is_file() else PACKAGED / f"{name}.md"
    text = path.read_text(encoding="utf-8").strip()
    check_slots(path, text, SLOTS[name])
    return text


@lru_cache(maxsize=1)
def _tasks() -> dict[str, dict[str, str]]:
    return json.loads((PACKAGED / "tasks.json").read_text(encoding="utf-8"))


def task_kinds(task: str | None) -> dict[str, str]:
    """``{"query": ..., "document": ...}`` descriptions for a task (the ``default`` entry for unknown tasks)."""
    table = _tasks()
    return table.get(task or "default", table["default"])
