"""Reader prompts are files: packaged ones load, replacements are checked for their slots."""
from __future__ import annotations

from pathlib import Path

import pytest

from reasonir.rag.prompts import SLOTS, PromptError, load_prompts


def test_packaged_prompts_have_their_slots_and_a_stable_fingerprint() -> None:
    p = load_prompts()
    assert set(p.texts) == set(SLOTS) and p.fingerprint() == load_prompts().fingerprint()
    assert "{context}" in p.texts["answer"] and "Answer: X" in p.texts["answer_cot"]


def test_a_replacement_changes_the_fingerprint_and_bad_ones_are_refused(tmp_path: Path) -> None:
    (tmp_path / "answer.md").write_text("{context}Q: {question}\n{options}\nPick one of {letters}.")
    p = load_prompts(tmp_path)
    assert p.sources["answer"] == str(tmp_path / "answer.md") and p.fingerprint() != load_prompts().fingerprint()
    (tmp_path / "answer.md").write_text("Q: {question}\n{options}")
    with pytest.raises(PromptError, match=r"missing slot\(s\) \['\{context\}', '\{letters\}'\]"):
        load_prompts(tmp_path)
    (tmp_path / "answer.md").unlink()
    (tmp_path / "anwser.md").write_text("typo")
    with pytest.raises(PromptError, match="unknown prompt file"):
        load_prompts(tmp_path)
