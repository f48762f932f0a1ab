"""Retrieved documents joined into the reader's prompt: each cut to a length cap, all within the context window.

The budget is counted in characters with a deliberately low characters-per-token figure, so the prompt fits
without a tokenizer at hand (scientific text runs near 3-4 characters per token on BPE vocabularies). A document
that no longer fits whole is cut to what is left, or left out when too little is left to be useful; the ids of the
documents the reader actually saw are returned with the text.

Example:
    >>> from reasonir.data.records import Document
    >>> from reasonir.rag.prompts import load_prompts
    >>> docs = [Document("d1", "Cats purr when content. " * 20, "Cats"), Document("d2", "Dogs bark.", "Dogs")]
    >>> block = join_documents(docs, load_prompts(), doc_chars=60, budget_chars=1000)
    >>> block.ids, len(block.text) < 200
    (['d1', 'd2'], True)
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reasonir.data.records import Document
from reasonir.rag.prompts import Prompts

MIN_USEFUL_CHARS = 200  # below this a cut document is mostly noise: leave it out


@dataclass(frozen=True)
class ContextBlock:
    text: str  # the rendered context prompt, ending in a blank line; "" when no document fits
    ids: list[str]  # documents included, in rank order
    cut: list[str]  # documents included but shortened (by the per-document cap or the window)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[: max(0, limit - 1)]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip() + "\u2026"


def join_documents(documents: Sequence[Document], prompts: Prompts, *, doc_chars: int,
                   budget_chars: int | None) -> ContextBlock:
    """Render ``documents`` (best first) with the ``document`` and ``context`` prompts, each document cut to
    ``doc_chars`` characters and the whole block to ``budget_chars`` (None: no window limit)."""
    if not documents:
        return ContextBlock("", [], [])
    frame = len(prompts.render("context", documents="")) + 2
    left = None if budget_chars is None else budget_chars - frame
    parts, ids, cut = [], [], []
    for rank, doc in enumerate(documents, start=1):
        skeleton = prompts.render("document", rank=rank, title=doc.title, text="")
        room = doc_chars if left is None else min(doc_chars, left - len(skeleton) - 2)
        if room < min(MIN_USEFUL_CHARS, doc_chars):
            break
        body = shorten(doc.text, room)
        if body != " ".join(doc.text.split()):
            cut.append(doc.id)
        part = prompts.render("document", rank=rank, title=doc.title, text=body).replace(" \n", "\n").strip()
        parts.append(part)
        ids.append(doc.id)
        if left is not None:
            left -= len(part) + 2
    if not parts:
        return ContextBlock("", [], [])
    return ContextBlock(prompts.render("context", documents="\n\n".join(parts)).strip() + "\n\n", ids, cut)
