"""One way for every stage to ask the LLM (for JSON, or plain text in the small style) and get back a checked value or
a counted failure."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from reasonir.llm.tokens import CHARS_PER_TOKEN_LOW, TOKENS_PER_WORD_HIGH
from reasonir.llm.types import ChatRequest, ChatResult, Message, Sampling


@dataclass
class Answer:
    """A parsed, shape-checked JSON answer (``value``) or the reason there is none (``error``)."""

    value: Any = None
    error: str | None = None
    text: str = ""
    salvaged: bool = False  # the answer was cut off by max_tokens and closed here

    @property
    def ok(self) -> bool:
        return self.error is None


def string_list(key: str, n_min: int = 1, n_max: int | None = None, min_length: int = 1) -> dict:
    """JSON schema for ``{key: [str, ...]}``; llama.cpp turns min/maxItems into its grammar."""
    items: dict = {"type": "array", "items": {"type": "string", "minLength": min_length}, "minItems": n_min}
    if n_max is not None:
        items["maxItems"] = n_max
    return {"type": "object", "properties": {key: items}, "required": [key]}


def item_seed(base: int, *parts: object) -> int:
    """The sampling seed of one request, from the job's seed and what the request is for (seed document id, kind,
    candidate index, stage): independent candidates differ, and a rerun or resume asks exactly the same requests.

    >>> item_seed(0, "doc1", "hq", 0) == item_seed(0, "doc1", "hq", 0) != item_seed(0, "doc1", "hq", 1)
    True
    """
    key = ":".join(str(p) for p in (base, *parts)).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "big") & 0x7FFFFFFF


def request(messages: Sequence[Message], schema: dict | None, max_tokens: int, tag: str, config: Any,
            seed: int) -> ChatRequest:
    """A request sampled with ``config.temperature``/``config.top_p`` (a ``SynthConfig``) and its own ``seed``;
    ``schema=None`` asks for plain text."""
    sampling = Sampling(temperature=config.temperature, max_tokens=max_tokens, top_p=config.top_p, seed=seed)
    return ChatRequest(messages=tuple(messages), sampling=sampling, json_schema=schema, tag=tag)


def check(result: ChatResult, shape: Callable[[Any], Any]) -> Answer:
    """Apply ``shape`` (which raises ValueError/KeyError/TypeError on a wrong shape) to the parsed JSON.

    Errors start with "llm:" when no answer came (retries exhausted, no room in the context window) and with
    "invalid JSON:" when an answer came but is not the JSON asked for. An answer cut off by ``max_tokens``
    (``finish_reason == "length"``) is closed and parsed if it can be (``salvaged`` in the answer)."""
    text = result.text or ""
    if result.request is not None and result.request.json_schema is None:  # plain text: the shape reads the text
        if result.text is None:
            return Answer(error=f"llm: {result.error or 'no answer'}")
        try:
            return Answer(value=shape(text), text=text)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return Answer(error=f"unusable answer: {exc}", text=text)
    value = result.parsed
    salvaged = False
    if value is None and result.text is not None:
        value = lenient_json(text)
        if value is None and result.meta.get("finish_reason") == "length":
            value, salvaged = close_truncated_json(text), True
    if value is None:
        if result.text is None:
            return Answer(error=f"llm: {result.error or 'no answer'}")
        return Answer(error=f"invalid JSON: {result.error or 'nothing parsed'}", text=text)
    try:
        return Answer(value=shape(value), text=text, salvaged=salvaged)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return Answer(error=f"invalid JSON: {exc}", text=text)


def lenient_json(text: str) -> Any:
    """The first JSON object in ``text``, allowing raw control characters (newlines) inside strings, which some
    grammar-constrained servers let through; None if there is none.

    >>> lenient_json('Sure: {"query": "line one' + chr(10) + 'line two"} done')
    {'query': 'line one\\nline two'}
    """
    start = text.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder(strict=False).raw_decode(text[start:])
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def close_truncated_json(text: str) -> Any:
    """Parse a JSON object cut off mid-way by closing its open string, arrays and objects; None if that fails.

    >>> close_truncated_json('{"query": "a long que')
    {'query': 'a long que'}
    >>> close_truncated_json('{"tasks": ["one", "tw') == {"tasks": ["one", "tw"]}
    True
    >>> close_truncated_json('{"q": "say \\\\"hi')
    {'q': 'say "hi'}
    """
    start = text.find("{")
    if start < 0:
        return None
    body, stack, in_string, escaped = text[start:], [], False, False
    for ch in body:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
    tail = body.rstrip()
    if escaped:
        tail = tail[:-1]
    closed = tail + ('"' if in_string else "")
    closed = closed.rstrip().rstrip(",:")
    try:
        return json.loads(closed + "".join(reversed(stack)), strict=False)
    except json.JSONDecodeError:
        return None


def strings(value: Any, key: str) -> list[str]:
    """``value[key]`` as a list of non-empty stripped strings (a lone string is accepted as a list of one)."""
    items = value[key]
    if isinstance(items, str):
        items = [items]
    if not isinstance(items, list):
        raise TypeError(f"{key!r} is not a list")
    out = [str(x).strip() for x in items if isinstance(x, (str, int, float)) and str(x).strip()]
    if not out:
        raise ValueError(f"{key!r} is empty")
    return out


def prompt_tokens(messages: Sequence[Message]) -> int:
    """A high estimate of the tokens ``messages`` take (content plus about 8 tokens of chat template each)."""
    # over-counts on purpose (reasonir.llm.tokens), so a fitted request never overflows the window
    return int(sum(len(m.get("content") or "") for m in messages) / CHARS_PER_TOKEN_LOW + 8 * len(messages))


def fit(request: ChatRequest, context_window: int | None) -> ChatRequest | None:
    """``request`` with ``max_tokens`` lowered so prompt plus answer fit ``context_window``; None if no useful
    room is left (at least 64 tokens, or the full budget when it asked for less)."""
    if not context_window:
        return request
    room = int(context_window - prompt_tokens(request.messages))
    wanted = request.sampling.max_tokens
    if room >= wanted:
        return request
    if room < min(wanted, 64):
        return None
    return replace(request, sampling=replace(request.sampling, max_tokens=room))


def document_word_budget(configured: int, context_window: int | None, reserve_tokens: int = 1200) -> int:
    """Words of a document that fit in a prompt beside ``reserve_tokens`` of instructions and answers."""
    if not context_window:
        return configured
    return max(100, min(configured, int((context_window - reserve_tokens) / TOKENS_PER_WORD_HIGH)))
