"""Which prompt style and which seed judge suit the LLM at hand.

Small local models (the embedded SmolLM2-135M, anything named with at most 2B parameters: the LLM layer's
:func:`reasonir.llm.sizes.is_small_model`) get the ``small`` prompt set: short, few-shot, plain text, one turn per
question. Plain-text prompts kept SmolLM2 on topic far more often than the same model forced into a JSON schema,
where answers such as "The answer to this question is:" appeared (reasonir's query-writing trials). Everything else
gets ``structured``: ReasonIR's analysis turn and JSON answers, which capable models follow.

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

from reasonir.llm.sizes import is_small_model
from reasonir.synth.config import PromptStyle
from reasonir.synth.prompts import Style


def resolve_prompt_style(style: PromptStyle, model: str | None) -> Style:
    if style != "auto":
        return style
    return "small" if is_small_model(model) else "structured"


def resolve_judge(judge: str, style: Style) -> str:
    """"auto": judge seeds with the LLM only when the model is capable enough for its 0-5 score to mean something."""
    if judge != "auto":
        return judge
    return "none" if style == "small" else "llm"
