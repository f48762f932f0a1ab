"""Compute accounting for test-time reasoning: tokens each model processes per query, and the FLOPs they cost.

FLOPs follow the usual forward-pass estimate, ``2 x parameters x tokens`` (Kaplan et al., 2020; the ReasonIR
paper's Fig. 1a compares pipelines on this axis), counting every token a model processes: an LLM's prompt tokens
and its generated tokens, an encoder's input tokens. Parameters are all of a model's parameters, embedding tables
included (a small overcount for small models; it keeps the rule one line that anybody can check by hand). A
model whose parameter count is unknown (:func:`reasonir.llm.sizes.llm_parameters`) has FLOPs ``None`` ("unknown"),
never a guess.

Query-time encoding and the one-off corpus encoding are kept apart: the corpus cost is reported in total and as
an amortised share per query of the call that indexed it.

Example (all-MiniLM-L6-v2 has 22,713,216 parameters; 12 tokens):
    >>> flops(22_713_216, 12)
    545117184
    >>> flops(None, 12) is None
    True
    >>> llm_parameters("SmolLM2-135M-Instruct")
    134515008
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

from reasonir.llm.sizes import llm_parameters
from reasonir.llm.types import ChatResult

def flops(parameters: int | None, tokens: int) -> int | None:
    """``2 x parameters x tokens``; None when the parameter count is unknown."""
    return None if parameters is None else 2 * int(parameters) * int(tokens)


def encoder_parameters(model: object) -> int:
    """All parameters of a torch module (a SentenceTransformer or CrossEncoder's model), counting those of a
    transformer an ONNX or CTranslate2 stand-in replaced (``replaced_parameters``)."""
    inner = getattr(model, "model", model)  # CrossEncoder keeps its torch module in .model
    own = sum(p.numel() for p in inner.parameters())  # type: ignore[attr-defined]
    stand_ins = sum(getattr(m, "replaced_parameters", 0) for m in inner.modules())  # type: ignore[attr-defined]
    return int(own + stand_ins)


def count_tokens(tokenizer: object, texts: list[str], max_length: int | None = None,
                 pairs: list[str] | None = None) -> list[int]:
    """Tokens a Hugging Face tokenizer feeds the model per text (special tokens included, after truncation)."""
    if not texts:
        return []
    kwargs = {"truncation": max_length is not None, "max_length": max_length, "add_special_tokens": True}
    encoded = tokenizer(texts, pairs, **kwargs) if pairs is not None else tokenizer(texts, **kwargs)  # type: ignore[operator]
    return [len(ids) for ids in encoded["input_ids"]]


@dataclass
class StageCompute:
    """What one stage cost for one query."""

    prompt_tokens: int = 0  # LLM input tokens
    completion_tokens: int = 0  # LLM generated tokens
    encoded_tokens: int = 0  # encoder (bi- or cross-encoder) input tokens
    flops: int | None = 0  # None: a model with an unknown parameter count took part
    requests: int = 0  # LLM requests or encoder inputs
    cached: int = 0  # LLM requests answered from the response cache (the compute was spent when first asked)

    def add(self, other: StageCompute) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.encoded_tokens += other.encoded_tokens
        self.flops = None if self.flops is None or other.flops is None else self.flops + other.flops
        self.requests += other.requests
        self.cached += other.cached

    def as_dict(self) -> dict[str, int | None]:
        return asdict(self)


def llm_compute(results: Iterable[ChatResult], parameters: int | None) -> StageCompute:
    """Sum prompt and completion tokens of ``ChatResult``s and their FLOPs (generated tokens included)."""
    out = StageCompute()
    for r in results:
        p, c = r.prompt_tokens, r.completion_tokens
        out.add(StageCompute(prompt_tokens=p, completion_tokens=c, flops=flops(parameters, p + c), requests=1,
                             cached=int(r.cached)))
    return out


def summarize(compute: Mapping[str, Mapping[str, Mapping[str, int | None]]],
              seconds: Mapping[str, float]) -> dict[str, object]:
    """Per-query means over a ``SearchDetails.compute`` table: FLOPs (query-time, and with the amortised corpus
    encoding), tokens per kind, seconds; ``flops_per_query`` is None when any stage's FLOPs are unknown."""
    n = max(len(compute), 1)
    stages = sorted({s for per_query in compute.values() for s in per_query})
    by_stage: dict[str, dict[str, float | None]] = {}
    query_flops: float | None = 0.0
    for stage in stages:
        rows = [per_query[stage] for per_query in compute.values() if stage in per_query]
        stage_flops = None if any(r.get("flops") is None for r in rows) else sum(r["flops"] or 0 for r in rows) / n
        by_stage[stage] = {key: sum((r.get(key) or 0) for r in rows) / n
                           for key in ("prompt_tokens", "completion_tokens", "encoded_tokens", "requests")}
        by_stage[stage]["flops"] = stage_flops
        if stage != "encode_corpus":
            query_flops = None if query_flops is None or stage_flops is None else query_flops + stage_flops
    corpus = by_stage.get("encode_corpus", {}).get("flops", 0.0)
    total = None if query_flops is None or corpus is None else query_flops + corpus
    return {"queries": len(compute), "flops_per_query": query_flops, "flops_per_query_with_corpus": total,
            "seconds_per_query": sum(seconds.values()) / n, "by_stage": by_stage, "seconds": dict(seconds)}


def format_flops(value: float | None) -> str:
    """``3.2e9`` style, or "unknown".

    >>> format_flops(3.2e9), format_flops(None), format_flops(0)
    ('3.20e+09', 'unknown', '0')
    """
    if value is None:
        return "unknown"
    return "0" if value == 0 else f"{value:.2e}"
