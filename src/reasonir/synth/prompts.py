"""Prompts as data files, one set per style (``synth/prompts/<style>/*.md``), replaceable one by one with
``--prompts DIR``.

Two styles (issue 9): ``structured`` (JSON answers, multi-turn analysis, for capable endpoints; the ReasonIR
recipe as written) and ``small`` (short few-shot plain-text prompts, which a 135M-parameter model follows far more
often than a JSON schema: MODELS.md's trials). ``styles.resolve_prompt_style`` picks one from the model.

A prompt names its slots as ``{name}``; JSON examples such as ``{"score": 3}`` are left alone. Slots are filled in
one pass, so a document that happens to contain ``{query}`` is never filled a second time.

Example:
    >>> p = load_prompts(style="structured")
    >>> "{document}" in p.texts["seed_judge"]
    True
    >>> load_prompts(style="small").style
    'small'
    >>> render("Rate {document}.", document="a {query} b")
    'Rate a {query} b.'
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

PACKAGED = Path(__file__).with_name("prompts")
Style = Literal["small", "structured"]
_SLOT = re.compile(r"\{([a-z_]+)\}")

# style -> prompt name -> the slots it must use (a missing or unknown slot is a configuration error)
SLOTS: dict[str, dict[str, frozenset[str]]] = {
    "structured": {
        "system": frozenset(),
        "seed_judge": frozenset({"document"}),
        "hq_analysis": frozenset({"document"}),
        "hq_query": frozenset({"n"}),
        "vl_brainstorm": frozenset({"document", "n"}),
        "vl_example": frozenset({"task", "query_words", "positive_words"}),
        "negatives": frozenset({"k"}),
    },
    "small": {
        "system": frozenset(),
        "seed_judge": frozenset({"document"}),
        "hq_query": frozenset({"document"}),
        "vl_query": frozenset({"document", "query_words"}),
        "negatives": frozenset(),
    },
}


class PromptError(ValueError):
    """A replacement prompt is missing a slot or names one that does not exist (exit code 3)."""

    exit_code = 3


@dataclass(frozen=True)
class Prompts:
    texts: dict[str, str]
    sources: dict[str, str]  # prompt name -> file it came from
    style: Style = "structured"

    def render(self, name: str, **slots: object) -> str:
        return render(self.texts[name], **slots)


def render(template: str, **slots: object) -> str:
    return _SLOT.sub(lambda m: str(slots[m.group(1)]) if m.group(1) in slots else m.group(0), template)


def load_prompts(folder: str | Path | None = None, style: Style = "structured") -> Prompts:
    """The packaged prompts of ``style``, with any ``<name>.md`` (or ``.txt``) in ``folder`` replacing the packaged
    one of the same name."""
    if style not in SLOTS:
        raise PromptError(f"unknown prompt style {style!r}; known: {sorted(SLOTS)}")
    slots = SLOTS[style]
    texts, sources = {}, {}
    override = Path(folder) if folder else None
    if override is not None and not override.is_dir():
        raise PromptError(f"{override}: prompts folder not found")
    if override is not None:
        known = {p.stem for p in override.iterdir() if p.suffix in (".md", ".txt")}
        unknown = known - slots.keys()
        if unknown:
            raise PromptError(f"{override}: unknown prompt file(s) {sorted(unknown)} for the {style} style; "
                              f"known: {sorted(slots)}")
    for name, needed in slots.items():
        path = PACKAGED / style / f"{name}.md"
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
    return Prompts(texts, sources, style)
