"""The reader's prompts as data files (``rag/prompts/*.md``), replaceable one by one with ``--prompts DIR``.

A prompt names its slots as ``{name}``; slots are filled in one pass, so a retrieved document that happens to
contain ``{question}`` is never filled a second time.

Example:
    >>> p = load_prompts()
    >>> sorted(SLOTS["answer"]) == sorted(["context", "question", "options", "letters"])
    True
    >>> p.render("document", rank=1, title="Cats", text="They purr {question}.")
    '[1] Cats\\nThey purr {question}.'
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from reasonir.llm.prompt_files import PromptError, load_prompt_files, render

PACKAGED = Path(__file__).with_name("prompts")
__all__ = ["SLOTS", "PromptError", "Prompts", "load_prompts"]

# prompt name -> the slots it must use (a missing or unknown slot is a configuration error)
SLOTS: dict[str, frozenset[str]] = {
    "system": frozenset(),
    "answer": frozenset({"context", "question", "options", "letters"}),
    "answer_cot": frozenset({"context", "question", "options", "letters"}),
    "context": frozenset({"documents"}),
    "document": frozenset({"rank", "title", "text"}),
    "scifact_question": frozenset({"claim"}),
}


@dataclass(frozen=True)
class Prompts:
    texts: dict[str, str]
    sources: dict[str, str]  # prompt name -> the file it came from

    def render(self, name: str, **slots: object) -> str:
        return render(self.texts[name], **slots)

    def fingerprint(self) -> str:
        """A short hash of every prompt text: records made with other prompts are not mixed with these."""
        joined = "\0".join(f"{k}\0{self.texts[k]}" for k in sorted(self.texts))
        return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:12]


def load_prompts(folder: str | Path | None = None) -> Prompts:
    """Packaged prompts, with any ``<name>.md`` (or ``.txt``) in ``folder`` replacing the packaged one."""
    return Prompts(*load_prompt_files(PACKAGED, SLOTS, folder))
