"""Deterministic stand-ins for an LLM's answers to every synthesis prompt, for docs, unit tests and crash tests.

``scripted_answers(request)`` reads the request's stage (:func:`tag_of`: its tag, or over HTTP, where tags are not
sent, its JSON schema or the fixed ending of the small style's prompt files) and returns a well-formed answer whose
text depends on the prompt (so different seeds give different queries). Use it with
:class:`reasonir.testing.ScriptedLLM` in-process. Real runs use a real model (``reasonir.llm.load_llm()``).

Example:
    >>> from reasonir.llm import ChatRequest
    >>> from reasonir.synth import load_prompts
    >>> tag_of(ChatRequest.user(load_prompts(style="small").render("seed_judge", document="Salt melts ice.")))
    'seeds.judge'
"""
from __future__ import annotations

import functools
import hashlib
import re

from reasonir.llm.types import ChatRequest
from reasonir.synth.prompts import load_prompts
from reasonir.synth.text import DOC_OPEN

_WORDS = ("orbit lattice enzyme tariff voltage glacier theorem protocol isotope ledger membrane catalyst "
          "torque synapse monsoon vector quorum alloy sediment algorithm").split()


def _digest(request: ChatRequest) -> int:
    """Depends on the prompt and the sampling seed, as a sampled answer does."""
    text = "\n".join(m["content"] for m in request.messages) + f"\x00{request.sampling.seed}"
    return int(hashlib.sha256(text.encode()).hexdigest(), 16)


def _words(seed: int, n: int) -> str:
    return " ".join(_WORDS[(seed >> (3 * i)) % len(_WORDS)] for i in range(n))


def _items(request: ChatRequest, key: str) -> int:
    return int(request.json_schema["properties"][key].get("minItems", 1)) if request.json_schema else 1


def _long_text(seed: int, n_words: int) -> str:
    return " ".join(_WORDS[(seed >> (i % 50)) % len(_WORDS)] + str(i % 7) for i in range(n_words))


def _document_topic(request: ChatRequest) -> str:
    """The first words of the document in the conversation (framed, or after the small style's last "Facts:" or
    "Text:")."""
    for message in request.messages:
        content = message["content"]
        if message["role"] != "user":
            continue
        if DOC_OPEN in content:
            inside = content.split(DOC_OPEN, 1)[1].strip()
            return " ".join(inside.splitlines()[0].split()[:6]) if inside else "it"
        for label in ("Facts:", "Text:"):  # the small style's HQ and VL prompts
            if label in content:
                inside = content.rsplit(label, 1)[1].strip()
                return " ".join(inside.split()[:6]) or "it"
    return "it"


# the small style's plain-text prompts and the stage each belongs to
_PLAIN_STAGES = {"hq_query": "hq.query", "vl_query": "vl.query", "seed_judge": "seeds.judge",
                 "negatives": "negatives.written"}


@functools.cache
def _plain_endings() -> tuple[tuple[str, str], ...]:
    """(fixed ending, stage) of each small-style prompt: the text after its last slot (the whole prompt when it has
    none), read from the prompt files, so editing a prompt keeps the fake in step."""
    texts = load_prompts(style="small").texts
    return tuple((texts[name].rstrip().rsplit("}", 1)[-1].strip(), tag) for name, tag in _PLAIN_STAGES.items())


def tag_of(request: ChatRequest) -> str:
    """The stage a request belongs to: its tag, or else what its JSON schema asks for."""
    if request.tag:
        return request.tag
    if request.json_schema is None:  # small style: plain-text prompts, told apart by how they end
        last = request.messages[-1]["content"].rstrip() if request.messages else ""
        for ending, tag in _plain_endings():
            if last.endswith(ending):
                return tag
    keys = set((request.json_schema or {}).get("properties", {}))
    for key, tag in (("score", "seeds.judge"), ("domain", "hq.analysis"), ("questions", "hq.query"),
                     ("tasks", "vl.brainstorm"), ("positive", "vl.example"), ("negatives", "negatives.written")):
        if key in keys:
            return tag
    return ""


def scripted_answers(request: ChatRequest) -> object:
    """A plausible answer to any synthesis prompt: JSON for the structured style, plain text for the small one."""
    h = _digest(request)
    tag = tag_of(request)
    if request.json_schema is None:
        return _plain_answer(request, tag, h)
    if tag == "seeds.judge":
        return {"score": h % 6}
    if tag == "hq.analysis":
        return {"domain": f"field of {_words(h, 1)}", "key_concepts": [_words(h >> 8, 2)], "patterns": ["diagnose"]}
    if tag == "hq.query":
        topic = _document_topic(request)
        return {"questions": [f"Case {i}: facing {topic}, how would a {_words(h >> (9 * i), 3)} engineer reason?"
                              for i in range(_items(request, "questions"))]}
    if tag == "vl.brainstorm":
        return {"tasks": [f"Find guides for a long {_words(h >> (7 * i), 2)} report" for i in
                          range(_items(request, "tasks"))]}
    if tag == "vl.example":
        asked = [int(n) for n in re.findall(r"about (\d+) words", request.messages[-1]["content"])] or [60, 60]
        return {"query": "My long problem goes like this: " + _long_text(h, asked[0]),
                "positive": "A guide explaining " + _long_text(h >> 64, asked[-1])}
    if tag == "negatives.written":
        return {"negatives": [f"An unrelated note on {_words(h >> (11 * i), 25)}" for i in
                              range(_items(request, "negatives"))]}
    raise ValueError(f"no scripted answer for tag {tag!r}")


def _plain_answer(request: ChatRequest, tag: str, h: int) -> str:
    topic = _document_topic(request)
    if tag == "seeds.judge":
        return f"Score: {h % 6}"
    if tag == "hq.query":
        return f"Question: Facing {topic}, how would a {_words(h, 3)} engineer reason about it?"
    if tag == "vl.query":
        asked = [int(n) for n in re.findall(r"about (\d+) words", request.messages[-1]["content"])] or [60]
        return f"My long problem with {topic} goes like this: " + _long_text(h, asked[0])
    if tag == "negatives.written":
        return f"An unrelated note on {_words(h >> 11, 30)}"
    raise ValueError(f"no scripted plain-text answer for tag {tag!r}")
