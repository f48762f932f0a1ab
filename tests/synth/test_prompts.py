from __future__ import annotations

import pytest

from reasonir.synth.prompts import SLOTS, PromptError, check_prompt_folder, load_prompts, render


def test_packaged_prompts_load_with_their_slots():
    p = load_prompts()
    assert p.style == "structured" and set(p.texts) == set(SLOTS["structured"])
    assert "<<<DOCUMENT>>>" in p.texts["system"]
    small = load_prompts(style="small")
    assert set(small.texts) == set(SLOTS["small"]) and "Question:" in small.texts["hq_query"]
    with pytest.raises(PromptError, match="unknown prompt style"):
        load_prompts(style="tiny")


def test_a_folder_replaces_prompts_of_the_chosen_style(tmp_path):
    (tmp_path / "hq_query.md").write_text("Ask about: {document}\nQuestion:")
    assert load_prompts(tmp_path, style="small").texts["hq_query"].startswith("Ask about")
    with pytest.raises(PromptError, match="missing slot"):  # the structured hq_query takes {n}, not {document}
        load_prompts(tmp_path, style="structured")


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


def test_a_folder_is_checked_against_the_style_it_will_be_used_with(tmp_path):
    # a copy of the small set: fine while the style is still to be chosen from the model, refused for structured
    (tmp_path / "vl_query.md").write_text("Write about {query_words} words on: {document}")
    check_prompt_folder(tmp_path, "auto")
    check_prompt_folder(tmp_path, "small")
    with pytest.raises(PromptError, match="unknown prompt file"):
        check_prompt_folder(tmp_path, "structured")
    (tmp_path / "typo.md").write_text("{document}")
    with pytest.raises(PromptError, match="unknown prompt file"):
        check_prompt_folder(tmp_path, "auto")
