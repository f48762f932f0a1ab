"""Prompts as data files, one set per style (``synth/prompts/<style>/*.md``), replaceable one by one with
``--prompts DIR``.

Two styles: ``structured`` (JSON answers, multi-turn analysis, for capable endpoints; the ReasonIR recipe as
written) and ``small`` (short few-shot plain-text prompts, which a 135M-parameter model follows far more often than a
JSON schema in reasonir's query-writing trials). ``styles.resolve_prompt_style`` picks one from the model.

Slots and loading are ``reasonir.llm.prompt_files``'s, shared with rewriting, reranking and RAG.

Example:
    >>> p = load_prompts(style="structured")
    >>> "{document}" in p.texts["seed_judge"]
    True
    >>> load_prompts(style="small").style
    'small'
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from reasonir.llm.prompt_files import PromptError, load_prompt_files, render
from reasonir.synth.config import PromptStyle

PACKAGED = Path(__file__).with_name("prompts")
Style = Literal["small", "structured"]
__all__ = ["SLOTS", "PromptError", "Prompts", "Style", "check_prompt_folder", "load_prompts", "render"]

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


@dataclass(frozen=True)
class Prompts:
    texts: dict[str, str]
    sources: dict[str, str]  # prompt name -> file it came from
    style: Style = "structured"

    def render(self, name: str, **slots: object) -> str:
        return render(self.texts[name], **slots)


def load_prompts(folder: str | Path | None = None, style: Style = "structured") -> Prompts:
    """The packaged prompts of ``style``, with any ``<name>.md`` (or ``.txt``) in ``folder`` replacing the packaged
    one of the same name."""
    if style not in SLOTS:
        raise PromptError(f"unknown prompt style {style!r}; known: {sorted(SLOTS)}")
    texts, sources = load_prompt_files(PACKAGED / style, SLOTS[style], folder, what=f" for the {style} style")
    return Prompts(texts, sources, style)


def check_prompt_folder(folder: str | Path | None, style: PromptStyle = "auto") -> None:
    """Fail early on a bad ``--prompts`` folder. With ``style="auto"`` the style is resolved from the model only once
    the LLM is up, so the folder must fit at least one style; a named style must fit exactly."""
    styles = list(SLOTS) if style == "auto" else [style]
    errors = []
    for name in styles:
        try:
            load_prompts(folder, name)  # type: ignore[arg-type]
            return
        except PromptError as error:
            errors.append(str(error))
    raise PromptError("; ".join(errors))
