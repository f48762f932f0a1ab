"""Optional high-throughput backend: vLLM's offline engine on local GPUs (no HTTP server, one batched call).

Install with ``pip install vllm`` on a CUDA machine. Select it with ``LLMConfig(backend="vllm", model=HF_NAME)`` or
``--llm-backend vllm --llm-model HF_NAME``. Answers go through the same cache, JSON validation and usage report as
the HTTP client. For a shared GPU server prefer ``vllm serve MODEL`` and ``--llm-base-url http://HOST:8000/v1``.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from reasonir.llm.base import BaseLLM
from reasonir.llm.cache import ResponseCache, cache_key
from reasonir.llm.errors import MissingDependencyError
from reasonir.llm.jsonout import answer_to_result
from reasonir.llm.prices import Price
from reasonir.llm.types import ChatRequest, ChatResult
from reasonir.llm.usage import UsageReport

INSTALL_HINT = "the vllm backend needs vLLM on a CUDA machine: pip install vllm"


def import_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise MissingDependencyError(f"{INSTALL_HINT} ({exc})") from None
    return vllm


class VLLMOfflineLLM(BaseLLM):
    """vLLM's ``LLM.chat`` over a whole batch; ``engine_kwargs`` go to ``vllm.LLM`` (tensor_parallel_size, ...)."""

    def __init__(self, model: str, *, cache: ResponseCache | None = None, prices: Mapping[str, Price] | None = None,
                 **engine_kwargs: Any) -> None:
        self._vllm = import_vllm()  # fail at construction, before any work
        self.model = model
        self.cache = cache
        self._engine_kwargs = engine_kwargs
        self._engine: Any = None
        self._usage = UsageReport(prices)

    def _sampling_params(self, request: ChatRequest) -> Any:
        s = request.sampling
        kwargs: dict[str, Any] = {"temperature": s.temperature, "max_tokens": s.max_tokens, "top_p": s.top_p,
                                  "seed": s.seed}
        if request.json_schema is not None:
            params_mod = self._vllm.sampling_params
            if hasattr(params_mod, "StructuredOutputsParams"):  # vLLM >= 0.11
                kwargs["structured_outputs"] = params_mod.StructuredOutputsParams(json=dict(request.json_schema))
            else:  # vLLM 0.6 to 0.10
                kwargs["guided_decoding"] = params_mod.GuidedDecodingParams(json=dict(request.json_schema))
        return self._vllm.SamplingParams(**kwargs)

    def _generate(self, requests: Sequence[ChatRequest]) -> list[dict[str, Any]]:
        if self._engine is None:
            self._engine = self._vllm.LLM(model=self.model, **self._engine_kwargs)
        outputs = self._engine.chat([[dict(m) for m in r.messages] for r in requests],
                                    [self._sampling_params(r) for r in requests], use_tqdm=True)
        return [{"text": o.outputs[0].text, "prompt_tokens": len(o.prompt_token_ids or []),
                 "completion_tokens": len(o.outputs[0].token_ids), "finish_reason": o.outputs[0].finish_reason}
                for o in outputs]

    def _result(self, request: ChatRequest, raw: dict[str, Any], cached: bool) -> ChatResult:
        return answer_to_result(request, raw, model=self.model, cached=cached, usage=self._usage)

    def chat_many(self, requests: Sequence[ChatRequest]) -> Iterator[tuple[int, ChatResult]]:
        """Cached answers first, then one batched vLLM call for the rest (each answer cached as soon as known)."""
        requests = list(requests)
        misses: list[int] = []
        for i, request in enumerate(requests):
            raw = self.cache.get(cache_key(self.model, request)) if self.cache is not None else None
            if raw is None:
                misses.append(i)
            else:
                yield i, self._result(request, raw, cached=True)
        if misses:
            answers = self._generate([requests[i] for i in misses])
            for i, raw in zip(misses, answers):
                if self.cache is not None:
                    self.cache.put(cache_key(self.model, requests[i]), self.model, raw)
                yield i, self._result(requests[i], raw, cached=False)

    async def achat(self, request: ChatRequest) -> ChatResult:
        return await asyncio.to_thread(lambda: next(iter(self.chat_many([request])))[1])

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()
            self.cache = None
        self._engine = None
