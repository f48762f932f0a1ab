"""``load_llm``: one call from a configuration to a ready, checked LLM.

    >>> from reasonir.llm import load_llm, ChatRequest
    >>> with load_llm() as llm:  # doctest: +SKIP
    ...     print(llm.chat(ChatRequest.user("Say hi")).text)
"""
from __future__ import annotations

from collections.abc import Mapping

from reasonir.llm.base import BaseLLM
from reasonir.llm.cache import ResponseCache
from reasonir.llm.client import OpenAICompatibleLLM
from reasonir.llm.config import JsonMode, LLMConfig
from reasonir.llm.embedded import DEFAULT_ALIAS, EmbeddedServer, ServingEngine, default_model_path
from reasonir.llm.engines import IN_PROCESS, resolve_engine
from reasonir.llm.errors import UnknownModelError
from reasonir.llm.prices import Price, load_prices
from reasonir.llm.retry import RetryPolicy


def embedded_json_mode(engine: ServingEngine, asked: JsonMode) -> JsonMode:
    """How to ask the embedded ``engine`` for JSON: what was ``asked``, except that ``auto`` on ``transformers`` is
    ``none`` (transformers serve accepts ``response_format`` and ignores it, so ``auto`` would never step down).

    >>> embedded_json_mode("transformers", "auto"), embedded_json_mode("llama-server", "auto")
    ('none', 'auto')
    """
    return "none" if engine == "transformers" and asked == "auto" else asked


def _in_process(engine: str, config: LLMConfig, cache: ResponseCache | None,
                prices: Mapping[str, Price]) -> BaseLLM:
    """The embedded SmolLM2 on an engine that runs in this process (ct2, openvino): no server, nothing to check
    over a network."""
    if config.model not in (None, DEFAULT_ALIAS):
        raise UnknownModelError(f"the embedded engine serves only {DEFAULT_ALIAS}, not {config.model!r}; set "
                                "--llm-base-url to use another model")
    options: dict[str, str] = {}
    if engine == "ct2":
        from reasonir.llm.ct2_engine import CT2LLM as Engine
    else:
        from reasonir.llm.openvino_engine import PRECISION_OF_DTYPE
        from reasonir.llm.openvino_engine import OpenVINOLLM as Engine  # type: ignore[assignment]

        if config.embedded_dtype is not None:  # None: the engine's choice for this CPU (choose_precision)
            options["precision"] = PRECISION_OF_DTYPE[config.embedded_dtype]
    return Engine(default_model_path(), alias=DEFAULT_ALIAS, n_ctx=config.context_window or config.embedded_n_ctx,
                  threads=config.embedded_threads, cache=cache, prices=prices, **options)


def load_llm(config: LLMConfig | None = None) -> BaseLLM:
    """A checked LLM for ``config`` (None: ``LLMConfig.resolve()``, i.e. config file and ``REASONIR_LLM_*``
    environment over the defaults; with no endpoint configured, the embedded SmolLM2 server).

    Fails fast with an ``LLMConfigError`` (exit code 3) for a missing key, an unreachable URL or an unknown model.
    The result is a context manager; ``close()`` also stops an embedded server.
    """
    config = LLMConfig.resolve() if config is None else config
    prices = load_prices(config.prices)
    cache_path = config.resolved_cache_path()
    if config.backend == "vllm":
        from reasonir.llm.vllm_backend import VLLMOfflineLLM

        if not config.model:
            raise UnknownModelError("the vllm backend needs --llm-model (a Hugging Face name or a local folder)")
        return VLLMOfflineLLM(config.model, cache=ResponseCache(cache_path) if cache_path else None, prices=prices)

    retry = RetryPolicy(config.max_retries, config.backoff_base_s, config.backoff_max_s)
    engine = resolve_engine(config.embedded_engine) if config.base_url is None else None
    if engine in IN_PROCESS:
        return _in_process(engine, config, ResponseCache(cache_path) if cache_path else None, prices)
    if config.base_url is None:
        server = EmbeddedServer(alias=DEFAULT_ALIAS, n_ctx=config.embedded_n_ctx, n_threads=config.embedded_threads,
                                engine=config.embedded_engine, parallel=config.embedded_parallel,
                                dtype=config.embedded_dtype)
        base_url, model, api_key, on_close = server.start().base_url, server.model_id, None, server.stop
        slots = server.slots  # None for transformers: nothing to pin
        # llama-server takes OpenAI's json_schema format as it is (a grammar); transformers serve ignores
        # response_format (a warning in its log), so nothing is sent and the prompt's own request for JSON is read
        # back by parse_json (see embedded_json_mode)
        json_mode = embedded_json_mode(server.engine_used, config.json_mode)
        context_window = config.context_window or config.embedded_n_ctx
        concurrency, timeout_s = config.concurrency, max(config.timeout_s, config.embedded_timeout_s)
        concurrency = max(concurrency, config.embedded_parallel * config.embedded_requests_per_slot)
        if config.model not in (None, DEFAULT_ALIAS):
            server.stop()
            raise UnknownModelError(f"the embedded server serves only {DEFAULT_ALIAS}, not {config.model!r}; set "
                                    "--llm-base-url to use another model")
    else:
        api_key = config.key()  # MissingKeyError before any network traffic
        base_url, model, on_close = config.base_url, config.model, None
        json_mode, context_window, slots = config.json_mode, config.context_window, None
        concurrency, timeout_s = config.concurrency, config.timeout_s
    llm = OpenAICompatibleLLM(base_url, model, api_key=api_key, concurrency=concurrency, timeout_s=timeout_s,
                              retry=retry,
                              cache=ResponseCache(cache_path) if cache_path else None, prices=prices,
                              context_window=context_window, json_mode=json_mode, on_close=on_close, slots=slots)
    if config.check:
        try:
            llm.check()
        except BaseException:
            llm.close()
            raise
    return llm
