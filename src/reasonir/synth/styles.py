"""Which prompt style and which seed judge suit the LLM at hand.

Small local models (the embedded SmolLM2-135M, anything named with at most 2B parameters) get the ``small`` prompt
set: short, few-shot, plain text, one turn per question. Plain-text prompts kept SmolLM2 on topic far more often
than the same model forced into a JSON schema, where answers such as "The answer to this question is:" appeared
(MODELS.md's query-writing trials; issue 9). Everything else gets ``structured``: ReasonIR's analysis turn and JSON
answers, which capable models follow.

Example:
    >>> resolve_prompt_style("auto", "SmolLM2-135M-Instruct")
    'small'
    >>> resolve_prompt_style("auto", "Qwen/Qwen2.5-0.5B-Instruct")
    'small'
    >>> resolve_prompt_style("auto", "Qwen/Qwen2.5-7B-Instruct")
    'structured'
    >>> resolve_judge("auto", "small")
    'none'
"""
from __future__ import annotations

import re

from reasonir.synth.config import PromptStyle
from reasonir.synth.prompts import Style

SMALL_MODEL_MAX_BILLIONS = 2.0  # our line: below it, models followed few-shot plain text better than JSON schemas
_SMALL_NAMES = re.compile(r"smollm|tinyllama|mobilellm", re.I)
_SIZE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*([mb])(?![a-z])", re.I)


def parameters_in_name(model: str) -> float | None:
    """Billions of parameters a model name states ("Qwen2.5-0.5B" -> 0.5, "SmolLM2-135M" -> 0.135), or None."""
    sizes = [float(n) / (1000 if unit.lower() == "m" else 1) for n, unit in _SIZE.findall(model)]
    return max(sizes) if sizes else None


def resolve_prompt_style(style: PromptStyle, model: str | None) -> Style:
    if style != "auto":
        return style
    name = model or ""
    size = parameters_in_name(name)
    if _SMALL_NAMES.search(name) or (size is not None and size <= SMALL_MODEL_MAX_BILLIONS):
        return "small"
    return "structured"


def resolve_judge(judge: str, style: Style) -> str:
    """"auto": judge seeds with the LLM only when the model is capable enough for its 0-5 score to mean something."""
    if judge != "auto":
        return judge
    return "none" if style == "small" else "llm"
