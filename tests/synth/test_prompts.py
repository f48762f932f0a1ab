from __future__ import annotations

import pytest

from reasonir.synth.prompts import SLOTS, PromptError, load_prompts, render


def test_packaged_prompts_load_with_their_slots():
    p = load_prompts()
    assert set(p.texts) == set(SLOTS)
    assert "<<<DOCUMENT>>>" in p.texts["system"]


def test_render_fills_slots_once_and_leaves_json_examples():
    out = render('Doc: {document}. Answer {"score": 1}.', document="has {document} inside")
    assert out == 'Doc: has {document} inside. Answer {"score": 1}.'


def test_a_folder_replaces_only_the_prompts_it_has(tmp_path):
    (tmp_path / "seed_judge.md").write_text("Score this: {document}")
    p = load_prompts(tmp_path)
    assert p.texts["seed_judge"] == "Score this: {document}"
    assert p.texts["hq_query"] == load_prompts().texts["hq_query"]


@pytest.mark.parametrize("name, text, message", [
    ("seed_judge.md", "no slot here", "missing slot"),
    ("hq_query.md", "{n} and {document}", "unknown slot"),
    ("typo.md", "{document}", "unknown prompt file"),
])
def test_bad_replacement_prompts_are_refused(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(PromptError, match=message):
        load_prompts(tmp_path)
