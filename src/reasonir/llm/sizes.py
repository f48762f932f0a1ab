"""How big an LLM is, from its name: the one place that reads model names for their size.

Two uses: FLOPs of test-time reasoning need a model's exact parameter count (:func:`llm_parameters`, a table; an
unknown model's FLOPs are reported as unknown, never guessed), and the synthesizer picks its prompt style by whether
the model is small (:func:`is_small_model`: named SmolLM, TinyLlama or MobileLLM, or stating at most 2B parameters;
below that line small models followed few-shot plain text better than JSON schemas in reasonir's query-writing
trials).

Example:
    >>> llm_parameters("SmolLM2-135M-Instruct"), parameters_in_name("Qwen/Qwen2.5-0.5B-Instruct")
    (134515008, 0.5)
    >>> is_small_model("HuggingFaceTB/SmolLM2-135M-Instruct"), is_small_model("Qwen/Qwen2.5-7B-Instruct")
    (True, False)
"""
from __future__ import annotations

import re

# Parameter counts of the LLMs reasonir knows, keyed by the model name the endpoint reports (case-insensitive,
# matched on the name's last path part). SmolLM2-135M: 30 layers x (attention 884,736 + MLP 2,654,208 + norms
# 1,152) + tied embeddings 49,152 x 576 + final norm 576 = 134,515,008 (HuggingFaceTB/SmolLM2-135M config; the
# test checks it against llama.cpp's own count of the packaged GGUF). Add others with ``parameters=`` or here.
LLM_PARAMETERS: dict[str, int] = {
    "smollm2-135m-instruct": 134_515_008,
    "smollm2-135m": 134_515_008,
}
SMALL_MODEL_MAX_BILLIONS = 2.0  # our line: below it, models followed few-shot plain text better than JSON schemas
_SMALL_NAMES = re.compile(r"smollm|tinyllama|mobilellm", re.I)
_SIZE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*([mb])(?![a-z])", re.I)


def llm_parameters(model: str | None) -> int | None:
    """Parameters of a known LLM by name, else None (FLOPs then reported as unknown)."""
    if not model:
        return None
    name = model.rsplit("/", 1)[-1].lower()
    for suffix in (".gguf", "-gguf"):
        name = name.removesuffix(suffix)
    return LLM_PARAMETERS.get(name)


def parameters_in_name(model: str) -> float | None:
    """Billions of parameters a model name states ("Qwen2.5-0.5B" -> 0.5, "SmolLM2-135M" -> 0.135), or None."""
    sizes = [float(n) / (1000 if unit.lower() == "m" else 1) for n, unit in _SIZE.findall(model)]
    return max(sizes) if sizes else None


def is_small_model(model: str | None) -> bool:
    """A small local model (see the module doc); an unnamed model is not known to be small."""
    name = model or ""
    size = parameters_in_name(name)
    return bool(_SMALL_NAMES.search(name)) or (size is not None and size <= SMALL_MODEL_MAX_BILLIONS)
