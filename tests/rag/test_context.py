"""Documents joined under a per-document cap and the reader's window."""
from __future__ import annotations

from reasonir.data.records import Document
from reasonir.rag.context import join_documents, shorten
from reasonir.rag.prompts import load_prompts

PROMPTS = load_prompts()
DOCS = [Document(f"d{i}", " ".join(f"word{i}_{j}" for j in range(200)), f"Title {i}") for i in range(3)]


def test_shorten_cuts_at_a_word_boundary() -> None:
    assert shorten("alpha beta gamma", 100) == "alpha beta gamma"
    cut = shorten("alpha beta gamma delta", 13)
    assert cut == "alpha beta\u2026" and len(cut) <= 13


def test_each_document_is_capped_and_ranked() -> None:
    block = join_documents(DOCS, PROMPTS, doc_chars=300, budget_chars=None)
    assert block.ids == ["d0", "d1", "d2"] and block.cut == ["d0", "d1", "d2"]
    assert block.text.startswith("Documents that may help:") and block.text.endswith("\n\n")
    assert "[1] Title 0\nword0_0" in block.text and "[3] Title 2" in block.text
    assert all(len(part) < 330 for part in block.text.split("\n\n")[1:-1])


def test_window_budget_drops_what_does_not_fit() -> None:
    block = join_documents(DOCS, PROMPTS, doc_chars=1000, budget_chars=1500)
    assert len(block.text) <= 1500 and block.ids[0] == "d0" and "d2" not in block.ids
    assert join_documents(DOCS, PROMPTS, doc_chars=1000, budget_chars=100).text == ""  # too little room: none
    whole = join_documents([Document("x", "short text")], PROMPTS, doc_chars=1000, budget_chars=None)
    assert whole.cut == [] and "[1] \n" not in whole.text and "[1]\nshort text" in whole.text
