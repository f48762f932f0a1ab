"""The one client: any OpenAI-compatible chat endpoint (vLLM, SGLang, llama.cpp, Ollama, hosted APIs, the embedded
SmolLM2 server), with a concurrency limit, timeouts, retries, a persistent cache, JSON output and usage accounting.

Usage from synchronous code (results arrive in completion order, so a job can write each as it comes):

    llm = load_llm(LLMConfig(base_url="http://gpu-node:8000/v1", model="Qwen/Qwen2.5-7B-Instruct"))
    for i, result in llm.chat_many(requests):
        ...
    print(llm.usage().format())

From async code, ``await llm.achat(request)`` from as many tasks as you like; at most ``concurrency`` are in flight.
"""
from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reasonir.llm.base import BaseLLM
from reasonir.llm.cache import ResponseCache, cache_key
from reasonir.llm.config import JsonMode
from reasonir.llm.errors import (ContextWindowError, EndpointUnreachableError, MissingDependencyError, MissingKeyError,
                                 RetriesExhaustedError, UnknownModelError)
from reasonir.llm.jsonout import FALLBACK, answer_to_result, response_format
from reasonir.llm.prices import Price
from reasonir.llm.retry import RetryPolicy, retry_after_from
from reasonir.llm.slots import SlotRouter
from reasonir.llm.tokens import CHARS_PER_TOKEN_HIGH
from reasonir.llm.types import ChatRequest, ChatResult
from reasonir.llm.usage import RetryCause, UsageReport

log = logging.getLogger(__name__)
NO_KEY = "no-key"  # local servers ignore the Authorization header; the OpenAI client insists on some value


def estimate_prompt_tokens(request: ChatRequest) -> int:
    """A deliberately low estimate of the prompt's tokens (so the preflight check never refuses a prompt that fits;
    the server's own ``context_length_exceeded`` answer catches the rest)."""
    chars = sum(len(m.get("content") or "") for m in request.messages)
    return int(chars / CHARS_PER_TOKEN_HIGH) + 4 * len(request.messages)


class _BadResponse(Exception):
    """HTTP 200 whose body is not a chat completion (garbage from a proxy, a truncated body)."""


class _Rejected(Exception):
    """A 4xx that retrying cannot fix (a malformed request)."""


@dataclass
class _LoopState:
    client: Any  # openai.AsyncOpenAI: its connection pool belongs to one event loop
    semaphore: asyncio.Semaphore


@dataclass(frozen=True)
class EndpointInfo:
    base_url: str
    model: str
    models: tuple[str, ...]
    context_window: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "model": self.model, "models": list(self.models),
                "context_window": self.context_window}


class OpenAICompatibleLLM(BaseLLM):
    """An ``LLM`` talking to ``base_url`` (ending in ``/v1``). Build it with ``load_llm``; see module docstring."""

    def __init__(self, base_url: str, model: str | None, *, api_key: str | None = None, concurrency: int = 8,
                 timeout_s: float = 120.0, retry: RetryPolicy = RetryPolicy(), cache: ResponseCache | None = None,
                 prices: Mapping[str, Price] | None = None, context_window: int | None = None,
                 json_mode: JsonMode = "auto", on_close: Callable[[], None] | None = None,
                 slots: int | None = None) -> None:
        """``slots``: the endpoint is ``llama-server --parallel slots``; pin each request to a slot by prompt prefix
        (``reasonir.llm.slots``) so candidates of one prompt reuse its evaluation."""
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.model = model or "unknown"
        self._model_given = model is not None
        self._api_key = api_key  # never logged: not in repr, usage, cache key or outputs
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.retry = retry
        self.cache = cache
        self.context_window = context_window
        self.json_mode: JsonMode = json_mode
        self._json_auto = json_mode == "auto"  # only auto steps down when the endpoint refuses a format
        self._on_close = on_close
        self._router = SlotRouter(slots) if slots else None
        self._usage = UsageReport(prices)
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return f"OpenAICompatibleLLM(base_url={self.base_url!r}, model={self.model!r}, concurrency={self.concurrency})"

    # ---- fail fast --------------------------------------------------------------------------------------------
    def check(self) -> EndpointInfo:
        """Ping ``/models``: the endpoint answers, the key is accepted, the model is served; learn the context window.

        Raises ``EndpointUnreachableError``, ``MissingKeyError`` or ``UnknownModelError`` (all ``LLMConfigError``).
        """
        import httpx

        url = f"{self.base_url}/models"
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            response = httpx.get(url, headers=headers, timeout=min(10.0, self.timeout_s))
        except httpx.HTTPError as exc:
            raise EndpointUnreachableError(
                f"cannot reach the LLM endpoint {self.base_url} ({type(exc).__name__}: {exc or 'no answer'}); is the "
                "server running? Set --llm-base-url (or REASONIR_LLM_BASE_URL), or leave it unset for the embedded "
                "SmolLM2") from None
        if response.status_code in (401, 403):
            raise MissingKeyError(f"{self.base_url} rejected the API key (HTTP {response.status_code}); check the "
                                  "variable named by --llm-api-key-env")
        entries: list[dict[str, Any]] = []
        if response.status_code != 404:  # some servers have no /models: the model cannot be checked, only used
            try:
                response.raise_for_status()
                entries = [e for e in response.json()["data"] if isinstance(e, dict) and "id" in e]
            except (httpx.HTTPStatusError, ValueError, KeyError, TypeError) as exc:
                raise EndpointUnreachableError(f"{url} is not an OpenAI-compatible endpoint "
                                               f"(HTTP {response.status_code}: {exc})") from None
        ids = tuple(str(e["id"]) for e in entries)
        if not self._model_given:
            if len(ids) != 1:
                raise UnknownModelError(f"{self.base_url} serves {len(ids)} models; choose one with --llm-model"
                                        f"{': ' + ', '.join(ids[:20]) if ids else ''}")
            self.model, self._model_given = ids[0], True
        elif ids and self.model not in ids:
            raise UnknownModelError(f"{self.base_url} does not serve model {self.model!r}; it serves: "
                                    f"{', '.join(ids[:20])}{' ...' if len(ids) > 20 else ''} (set --llm-model)")
        entry = next((e for e in entries if e["id"] == self.model), {})
        if self.context_window is None:
            self.context_window = _context_window_of(entry)
        return EndpointInfo(self.base_url, self.model, ids, self.context_window)

    def check_fits(self, request: ChatRequest) -> None:
        """Raise ``ContextWindowError`` when the prompt clearly cannot fit (see ``estimate_prompt_tokens``)."""
        if self.context_window is None:
            return
        need = estimate_prompt_tokens(request) + request.sampling.max_tokens
        if need > self.context_window:
            raise ContextWindowError(
                f"a prompt{f' ({request.tag})' if request.tag else ''} needs at least {need} tokens "
                f"(~{need - request.sampling.max_tokens} prompt + {request.sampling.max_tokens} max_tokens) but "
                f"{self.model} has a context window of {self.context_window}; shorten the input, lower max_tokens, "
                "or use a model with a longer context")

    # ---- requests ---------------------------------------------------------------------------------------------
    def chat_many(self, requests: Sequence[ChatRequest]) -> Any:
        """As ``BaseLLM.chat_many``, after checking every prompt fits, so a batch fails before any work."""
        requests = list(requests)
        for request in requests:
            self.check_fits(request)
        return super().chat_many(requests)

    async def achat(self, request: ChatRequest) -> ChatResult:
        self.check_fits(request)
        tag = request.tag
        key = cache_key(self.model, request) if self.cache is not None else None
        raw = self.cache.get(key) if key is not None and self.cache is not None else None
        cached = raw is not None
        if raw is None:
            try:
                raw = await self._complete(request)
            except RetriesExhaustedError as exc:
                self._usage.record_failure(self.model, tag, "retries_exhausted")
                return ChatResult(request, error=str(exc), meta={"attempts": exc.attempts})
            except _Rejected as exc:
                self._usage.record_failure(self.model, tag, "http_error")
                return ChatResult(request, error=str(exc))
            if key is not None and self.cache is not None:
                self.cache.put(key, self.model, raw)  # committed before anyone sees the answer
        return answer_to_result(request, raw, model=self.model, cached=cached, usage=self._usage)

    async def _complete(self, request: ChatRequest) -> dict[str, Any]:
        state = self._state()
        async with state.semaphore:  # held through backoff too: a rate-limited endpoint is not flooded meanwhile
            attempt = 0
            while True:
                mode = self.json_mode
                retry_after: str | None = None
                try:
                    return await self._post(state.client, request, mode)
                except _BadResponse as exc:
                    cause, last = "invalid_response", str(exc)
                except Exception as exc:  # noqa: BLE001 - sorted into retryable or not just below
                    cause, last, retry_after = self._classify(exc, request, mode)
                    if cause == "format_refused":
                        continue  # asked again in the next JSON mode: not a retry of the same request
                if attempt >= self.retry.max_retries:
                    raise RetriesExhaustedError(attempt + 1, cause, last)
                self._usage.record_retry(self.model, request.tag, cause)  # type: ignore[arg-type]
                delay = self.retry.delay(attempt, retry_after)
                log.debug("retry %d of %s in %.2fs after %s: %s", attempt + 1, request.tag, delay, cause, last)
                await asyncio.sleep(delay)
                attempt += 1

    def _classify(self, exc: Exception, request: ChatRequest, mode: JsonMode) -> tuple[str, str, str | None]:
        """``(cause, description, retry_after)`` for a retryable failure; raises for everything else."""
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return "timeout", f"no answer within {self.timeout_s:g}s", None
        if isinstance(exc, openai.APIConnectionError):
            return "connection", f"{type(exc.__cause__ or exc).__name__}: {exc.__cause__ or exc}", None
        if not isinstance(exc, openai.APIStatusError):
            raise exc
        status, body = exc.status_code, _body_text(exc)
        if (self._json_auto and request.json_schema is not None and mode in FALLBACK
                and "response_format" in body and status in (400, 422, 500)):
            # some servers (llama-cpp-python's) answer 500 to a json_schema response_format they do not know: step down, remember
            if self.json_mode == mode:
                self.json_mode = FALLBACK[mode]
                log.info("%s refused response_format %s; using %s", self.base_url, mode, self.json_mode)
            return "format_refused", body[:200], None
        if status == 400 and ("context_length" in body or "maximum context length" in body
                              or "exceed_context_size" in body):  # the last: llama-server
            raise ContextWindowError(f"{self.model} at {self.base_url}: {_message_of(body)}") from None
        if status in (401, 403):
            raise MissingKeyError(f"{self.base_url} rejected the API key (HTTP {status}): {_message_of(body)}") from None
        if status == 404 and "model" in body:
            raise UnknownModelError(f"{self.base_url}: {_message_of(body)} (set --llm-model)") from None
        cause: RetryCause
        if status == 429:
            cause = "429"
        elif status >= 500:
            cause = "5xx"
        elif status == 408:
            cause = "timeout"
        else:
            raise _Rejected(f"HTTP {status} from {self.base_url}: {_message_of(body)}") from None
        return cause, f"HTTP {status}: {_message_of(body)}", retry_after_from(exc.response.headers)

    async def _post(self, client: Any, request: ChatRequest, mode: JsonMode) -> dict[str, Any]:
        s = request.sampling
        body: dict[str, Any] = {"model": self.model, "messages": [dict(m) for m in request.messages],
                                "temperature": s.temperature, "max_tokens": s.max_tokens, "top_p": s.top_p}
        if s.seed is not None:
            body["seed"] = s.seed
        fmt = response_format(request.json_schema, mode)
        if fmt is not None:
            body["response_format"] = fmt
        slot = self._router.acquire(json.dumps(body["messages"])) if self._router is not None else None
        try:
            extra = {"extra_body": {"id_slot": slot, "cache_prompt": True}} if slot is not None else {}
            raw = await client.chat.completions.with_raw_response.create(**body, timeout=self.timeout_s, **extra)
        finally:
            if slot is not None and self._router is not None:
                self._router.release(slot)
        try:
            data = json.loads(raw.text)
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
            usage = data.get("usage") or {}
            return {"text": text, "prompt_tokens": int(usage.get("prompt_tokens") or 0),
                    "completion_tokens": int(usage.get("completion_tokens") or 0),
                    "finish_reason": choice.get("finish_reason")}
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise _BadResponse(f"not a chat completion ({type(exc).__name__}): {raw.text[:80]!r}") from None

    # ---- per-event-loop resources -------------------------------------------------------------------------------
    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            try:
                import openai
            except ImportError:  # pragma: no cover - openai is in the llm extra
                raise MissingDependencyError("the LLM client needs openai: pip install 'reasonir[llm]'") from None
            client = openai.AsyncOpenAI(base_url=self.base_url, api_key=self._api_key or NO_KEY, max_retries=0,
                                        timeout=self.timeout_s)  # retries are ours: counted and honouring Retry-After
            state = self._loops[loop] = _LoopState(client, asyncio.Semaphore(self.concurrency))
        return state

    async def aclose_loop(self) -> None:
        """Close this event loop's HTTP client (``chat_many`` calls it; async users call it before their loop ends)."""
        state = self._loops.pop(asyncio.get_running_loop(), None)
        if state is not None:
            await state.client.close()

    # ---- reporting and shutdown -----------------------------------------------------------------------------------
    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()
            self.cache = None
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close()


def _body_text(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    try:
        return response.text if response is not None else str(exc)
    except Exception:  # noqa: BLE001 - a streamed/closed body: fall back to the message
        return str(exc)


def _message_of(body: str) -> str:
    """The ``error.message`` of an OpenAI-style error body, else the body's start."""
    try:
        error = json.loads(body).get("error")
        message = error.get("message") if isinstance(error, dict) else error
        if message:
            return str(message).splitlines()[0][:300]
    except (ValueError, AttributeError):
        pass
    return body[:300]


def _context_window_of(entry: Mapping[str, Any]) -> int | None:
    """vLLM: max_model_len; llama.cpp's server: meta.n_ctx_train; others: context_length / context_window."""
    meta = entry.get("meta") if isinstance(entry.get("meta"), dict) else {}
    for value in (entry.get("max_model_len"), entry.get("context_length"), entry.get("context_window"),
                  meta.get("n_ctx"), meta.get("n_ctx_train")):
        if isinstance(value, int) and value > 0:
            return value
    return None
