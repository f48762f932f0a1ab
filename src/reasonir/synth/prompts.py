"""Prompts as data files (``synth/prompts/*.md``), replaceable one by one with ``--prompts DIR``.

A prompt names its slots as ``{name}``; JSON examples such as ``{"score": 3}`` are left alone. Slots are filled in
one pass, so a document that happens to contain ``{query}`` is never filled a second time.

Example:
    >>> p = load_prompts()
    >>> "{document}" in p.texts["seed_judge"]
    True
    >>> render("Rate {document}.", document="a {query} b")
    'Rate a {query} b.'
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PACKAGED = Path(__file__).with_name("prompts")
_SLOT = re.compile(r"\{([a-z_]+)\}")

# prompt name -> the slots it must use (a missing or unknown slot is a configuration error)
SLOTS: dict[str, frozenset[str]] = {
    "system": frozenset(),
    "seed_judge": frozenset({"document"}),
    "hq_analysis": frozenset({"document"}),
    "hq_query": frozenset({"n"}),
    "vl_brainstorm": frozenset({"document", "n"}),
    "vl_example": frozenset({"task", "query_words", "positive_words"}),
    "negatives": frozenset({"k"}),
}


class PromptError(ValueError):
    """A replacement prompt is missing a slot or names one that does not exist (exit code 3)."""

    exit_code = 3


@dataclass(frozen=True)
class Prompts:
    texts: dict[str, str]
    sources: dict[str, str]  # prompt name -> file it came from

    def render(self, name: str, **slots: object) -> str:
        return render(self.texts[name], **slots)


def render(template: str, **slots: object) -> str:
    return _SLOT.sub(lambda m: str(slots[m.group(1)]) if m.group(1) in slots else m.group(0), template)


def load_prompts(folder: str | Path | None = None) -> Prompts:
    """Packaged prompts, with any ``<name>.md`` (or ``.txt``) in ``folder`` replacing the packaged one."""
    texts, sources = {}, {}
    override = Path(folder) if folder else None
    if override is not None and not override.is_dir():
        raise PromptError(f"{override}: prompts folder not found")
    if override is not None:
        known = {p.stem for p in override.iterdir() if p.suffix in (".md", ".txt")}
        unknown = known - SLOTS.keys()
        if unknown:
            raise PromptError(f"{override}: unknown prompt file(s) {sorted(unknown)}; known: {sorted(SLOTS)}")
    for name, needed in SLOTS.items():
        path = PACKAGED / f"{name}.md"
        if override is not None:
            for suffix in (".md", ".txt"):
                if (override / f"{name}{suffix}").is_file():
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
