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
import re
from dataclasses import dataclass
from pathlib import Path

PACKAGED = Path(__file__).with_name("prompts")
_SLOT = re.compile(r"\{([a-z_]+)\}")

# prompt name -> the slots it must use (a missing or unknown slot is a configuration error)
SLOTS: dict[str, frozenset[str]] = {
    "system": frozenset(),
    "answer": frozenset({"context", "question", "options", "letters"}),
    "answer_cot": frozenset({"context", "question", "options", "letters"}),
    "context": frozenset({"documents"}),
    "document": frozenset({"rank", "title", "text"}),
    "scifact_question": frozenset({"claim"}),
}


class PromptError(ValueError):
    """A replacement prompt is missing a slot or names one that does not exist (exit code 3)."""

    exit_code = 3


@dataclass(frozen=True)
class Prompts:
    texts: dict[str, str]
    sources: dict[str, str]  # prompt name -> the file it came from

    def render(self, name: str, **slots: object) -> str:
        return _SLOT.sub(lambda m: str(slots[m.group(1)]) if m.group(1) in slots else m.group(0), self.texts[name])

    def fingerprint(self) -> str:
        """A short hash of every prompt text: records made with other prompts are not mixed with these."""
        joined = "\0".join(f"{k}\0{self.texts[k]}" for k in sorted(self.texts))
        return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:12]


def load_prompts(folder: str | Path | None = None) -> Prompts:
    """Packaged prompts, with any ``<name>.md`` (or ``.txt``) in ``folder`` replacing the packaged one."""
    override = Path(folder) if folder else None
    if override is not None and not override.is_dir():
        raise PromptError(f"{override}: prompts folder not found")
    if override is not None:
        unknown = {p.stem for p in override.iterdir() if p.suffix in (".md", ".txt")} - SLOTS.keys()
        if unknown:
            raise PromptError(f"{override}: unknown prompt file(s) {sorted(unknown)}; known: {sorted(SLOTS)}")
    texts, sources = {}, {}
    for name, needed in SLOTS.items():
        path = PACKAGED / f"{name}.md"
        for suffix in (".md", ".txt"):
            if override is not None and (override / f"{name}{suffix}").is_file():
                path = override / f"{name}{suffix}"
        text = path.read_text(encoding="utf-8").strip()
        used = set(_SLOT.findall(text))
        if needed - used:
            raise PromptError(f"{path}: missing slot(s) {sorted('{' + s + '}' for s in needed - used)}")
        if used - needed:
            raise PromptError(f"{path}: unknown slot(s) {sorted('{' + s + '}' for s in used - needed)}; "
                              f"this prompt takes {sorted(needed) or 'none'}")
        texts[name], sources[name] = text, str(path)
    return Prompts(texts, sources)
