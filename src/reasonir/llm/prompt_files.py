"""Prompts as data files, for every stage that talks to an LLM (synthesis, rewriting and reranking, RAG).

A prompt names its slots as ``{name}``; JSON examples such as ``{"score": 3}`` are left alone. Slots are filled in
one pass, so a document that happens to contain ``{query}`` is never filled a second time. A set of prompts is a
folder of ``<name>.md`` files with the slots each must use; a user's folder replaces files one by one.

Example:
    >>> render("Rate {document}.", document="a {query} b")
    'Rate a {query} b.'
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

SLOT = re.compile(r"\{([a-z_]+)\}")


class PromptError(ValueError):
    """A replacement prompt is missing a slot or names one that does not exist (exit code 3)."""

    exit_code = 3


def render(template: str, **slots: object) -> str:
    """Fill ``{name}`` slots in one pass."""
    return SLOT.sub(lambda m: str(slots[m.group(1)]) if m.group(1) in slots else m.group(0), template)


def check_slots(path: Path, text: str, needed: frozenset[str]) -> None:
    used = set(SLOT.findall(text))
    if needed - used:
        raise PromptError(f"{path}: missing slot(s) {sorted('{' + s + '}' for s in needed - used)}")
    if used - needed:
        raise PromptError(f"{path}: unknown slot(s) {sorted('{' + s + '}' for s in used - needed)}; "
                          f"this prompt takes {sorted(needed) or 'none'}")


def load_prompt_files(packaged: Path, slots: Mapping[str, frozenset[str]], folder: str | Path | None = None,
                      what: str = "") -> tuple[dict[str, str], dict[str, str]]:
    """``(texts, sources)`` for every prompt in ``slots``: ``packaged/<name>.md``, or ``folder/<name>.md|.txt``
    where the user's folder has one. Unknown files in ``folder`` and wrong slots raise ``PromptError``."""
    override = Path(folder) if folder else None
    if override is not None and not override.is_dir():
        raise PromptError(f"{override}: prompts folder not found")
    if override is not None:
        unknown = {p.stem for p in override.iterdir() if p.suffix in (".md", ".txt")} - slots.keys()
        if unknown:
            raise PromptError(f"{override}: unknown prompt file(s) {sorted(unknown)}{what}; known: {sorted(slots)}")
    texts, sources = {}, {}
    for name, needed in slots.items():
        path = packaged / f"{name}.md"
        for suffix in (".md", ".txt"):
            if override is not None and (override / f"{name}{suffix}").is_file():
                path = override / f"{name}{suffix}"
        text = path.read_text(encoding="utf-8").strip()
        check_slots(path, text, needed)
        texts[name], sources[name] = text, str(path)
    return texts, sources
