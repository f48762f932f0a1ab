"""Letter extraction on the awkward outputs small readers write."""
from __future__ import annotations

import pytest

from reasonir.rag.parse import extract_answer

MMLU_CHOICES = ("paralysis of the facial muscles.", "paralysis of the facial muscles and loss of taste.",
                "loss of hearing.", "decreased salivation.")


@pytest.mark.parametrize("text, letter, how", [
    ("B", "B", "bare"),
    ("c", "C", "bare"),
    ("(d)", "D", "bare"),
    ("  C.\n", "C", "bare"),
    ("Answer: (c)", "C", "marker"),
    ("answer: b", "B", "marker"),
    ("The answer is **D**.", "D", "marker"),
    ("The correct option is A", "A", "marker"),
    ("Final Answer: [b]", "B", "marker"),
    ("I choose C because it matches.", "C", "marker"),
    ("Answer:\nB", "B", "marker"),
    # chains of thought that discuss other letters before concluding
    ("Option A is wrong because... (B) ignores taste. C seems right.\nAnswer: C", "C", "marker"),
    ("First I thought the answer is A, but on reflection the answer is D.", "D", "marker"),
    ("A) is tempting. B) fails. So the final answer: (b)", "B", "marker"),
    ("B) paralysis of the facial muscles and loss of taste.", "B", "leading"),
    ("c) because taste fibres run with it", "C", "leading"),
    ("I would go with option d here.", "D", "mention"),
    ("The lesion affects (C) most.", "C", "mention"),
    # the option's text instead of its letter; the longest matching option wins
    ("It causes paralysis of the facial muscles and loss of taste", "B", "option_text"),
    ("loss of hearing", "C", "option_text"),
])
def test_reads_the_chosen_letter(text: str, letter: str, how: str) -> None:
    got = extract_answer(text, 4, choices=MMLU_CHOICES)
    assert (got.letter, got.how) == (letter, how)


@pytest.mark.parametrize("text, how", [
    ("", "empty"),
    ("   \n", "empty"),
    (None, "empty"),
    ("A and C", "ambiguous"),
    ("B or D", "ambiguous"),
    ("Answer: A or C", "ambiguous"),
    ("Answer: B, D", "ambiguous"),
    ("(A) looks right but (C) also fits.", "ambiguous"),
    ("The answer is a protein found in the nucleus.", "no_letter"),  # "a" is the article here
    ("I am not sure about this question.", "no_letter"),
    ("E", "no_letter"),  # not one of four options
    ("Answer: E", "no_letter"),
    ("decreased salivation or loss of hearing", "ambiguous"),
])
def test_no_answer_is_explicit_with_its_reason(text: str | None, how: str) -> None:
    got = extract_answer(text, 4, choices=MMLU_CHOICES)
    assert got.letter is None and got.how == how and not got.parsed


def test_article_a_is_not_an_answer_but_a_bracketed_a_is() -> None:
    assert extract_answer("Answer: (a)", 4).letter == "A"
    assert extract_answer("the answer is a.", 4).letter == "A"
    assert extract_answer("A cell divides by mitosis.", 4).letter is None


def test_two_way_claims_read_by_option_word() -> None:
    choices = ("Supported", "Contradicted")
    assert extract_answer("The claim is supported by the evidence.", 2, choices=choices).letter == "A"
    assert extract_answer("Contradicted.", 2, choices=choices).letter == "B"
    assert extract_answer("The claim is not supported.", 2, choices=choices).how == "ambiguous"
    assert extract_answer("Answer: C", 2, choices=choices).how == "no_letter"  # only A and B exist
