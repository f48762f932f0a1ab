"""A resumable batch job: answer ``(id, request)`` pairs into a JSONL file, each answer exactly once.

Each answer is appended as one complete line and fsynced as it arrives, through
:class:`reasonir.data.appender.JsonlAppender`; a rerun skips ids already in the file (a torn last line from a crash
is dropped first). A request that got no answer at all (retries exhausted) is counted but not written, so the next
run tries it again; an answer that is invalid JSON is written with its ``error``. Together with the response cache, a
crash at any moment loses no paid-for answer and a rerun of a finished job costs nothing.

Example:
    >>> import tempfile, os, json
    >>> from reasonir.llm import ChatRequest
    >>> from reasonir.testing import ScriptedLLM
    >>> out = os.path.join(tempfile.mkdtemp(), "answers.jsonl")
    >>> llm = ScriptedLLM(lambda r: r.messages[-1]["content"].upper())
    >>> answer_to_jsonl(llm, [("a", ChatRequest.user("x")), ("b", ChatRequest.user("y"))], out)
    {'written': 2, 'skipped': 0, 'failed': 0}
    >>> answer_to_jsonl(llm, [("a", ChatRequest.user("x"))], out)
    {'written': 0, 'skipped': 1, 'failed': 0}
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from reasonir.data.appender import JsonlAppender
from reasonir.llm.types import LLM, ChatRequest, ChatResult


def result_row(id_: str, result: ChatResult) -> dict[str, Any]:
    return {"id": id_, "text": result.text, "parsed": result.parsed, "error": result.error, "cached": result.cached,
            "prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens}


def answer_to_jsonl(llm: LLM, items: Iterable[tuple[str, ChatRequest]], output: str | Path) -> dict[str, int]:
    """Answer every request whose id is not yet in ``output``; returns counts written, skipped and failed."""
    items = list(items)
    with JsonlAppender(output, key="id") as out:  # repairs a torn last line, knows the ids already written
        todo = [(str(i), r) for i, r in items if str(i) not in out]
        if len({i for i, _ in todo}) != len(todo):
            raise ValueError("request ids must be unique")
        counts = {"written": 0, "skipped": len(items) - len(todo), "failed": 0}
        for index, result in llm.chat_many([r for _, r in todo]):
            if result.text is None:  # no answer: leave it for the next run
                counts["failed"] += 1
                continue
            out.append(result_row(todo[index][0], result))
            counts["written"] += 1
            counts["failed"] += not result.ok
    return counts
