"""Which option did the reader choose? Letter extraction that survives small models and chains of thought.

Every output ends as a letter or as an explicit no-answer with its reason, never as an exception, so a report can
say how many outputs were parsed and why the rest were not. Rules, first match wins:

1. ``marker``: the *last* "answer is X" / "Answer: (x)" / "correct option is X" / "final answer: **X**" (a chain of
   thought may discuss other letters before it concludes; "Answer: A or C" is ``ambiguous``);
2. ``bare``: the whole output is one letter, with any brackets or punctuation ("c", "(C)", "C.");
3. ``leading``: the output starts with an option label ("B) paralysis of ...", "c) because ...") and labels no
   other option;
4. ``mention``: exactly one letter written as a label ("(B)", "option B", "choice b") anywhere; several such
   letters with no marker is ``ambiguous``;
5. ``option_text``: the output quotes exactly one option's text (when options contain one another, the longest
   matched wins); "not <option>" makes it ``ambiguous``;
6. otherwise ``no_letter`` (``empty`` for an empty output).

A lowercase "a" counts only where it cannot be the article: bracketed, or alone, or right after a marker and
followed by punctuation or the end.

Example:
    >>> extract_answer("Option A looks tempting, but (B) ignores X. So the answer is (c).", 4)
    ParsedAnswer(letter='C', how='marker')
    >>> extract_answer("A and C", 4)
    ParsedAnswer(letter=None, how='ambiguous')
    >>> extract_answer("The claim is contradicted.", 2, choices=("Supported", "Contradicted"))
    ParsedAnswer(letter='B', how='option_text')
"""
from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

How = Literal["marker", "bare", "leading", "mention", "option_text", "ambiguous", "no_letter", "empty", "llm_error"]
PARSED: frozenset[str] = frozenset({"marker", "bare", "leading", "mention", "option_text"})

_MARKER = re.compile(
    r"\b(?:final\s+answer|answers?|correct\s+(?:option|choice|letter|response)|right\s+(?:option|choice)|"
    r"best\s+(?:option|choice|answer)|i\s+(?:choose|pick|select))"
    r"\s*(?:is|would\s+be|will\s+be|should\s+be|:|=|-|\u2192)?\s*:?\s*"
    r"(?:option\s+|choice\s+|letter\s+)?"
    r"(?P<open>[\(\[\*\"']*)(?P<letter>[A-Za-z])(?P<close>[\)\]\*\"']*)(?![A-Za-z0-9])",
    re.IGNORECASE)
_MORE = re.compile(r"\s*(?:,|/|&|\band\b|\bor\b)\s*[\(\[\*]*([A-Za-z])(?![A-Za-z0-9])", re.IGNORECASE)
_BARE = re.compile(r"^[\W_]*([A-Za-z])[\W_]*$")
_LEADING = re.compile(r"^\s*[\(\[\*]*([A-Z])(?:[\)\]\.:]|\*\*)(?:\s|$)|^\s*[\(\[]([a-z])[\)\]]|^\s*([a-z])\)\s")
_MENTION = re.compile(r"\(([A-Za-z])\)|\b(?:option|choice)\s+\(?([A-Za-z])\b|(?:^|\n)\s*([A-Z])[\).:]\s",
                      re.IGNORECASE)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class ParsedAnswer:
    letter: str | None
    how: How

    @property
    def parsed(self) -> bool:
        return self.letter is not None


def extract_answer(text: str | None, n_choices: int, *, choices: Sequence[str] = ()) -> ParsedAnswer:
    """The option letter in ``text`` (a reader's raw output) for a question with ``n_choices`` options.

    ``choices`` (the option texts) lets an output that names an option instead of its letter count.
    """
    letters = string.ascii_uppercase[:n_choices]
    if text is None or not text.strip():
        return ParsedAnswer(None, "empty")
    in_range = [m for m in _MARKER.finditer(text) if _marker_letter(m, letters)]
    if in_range:
        last = in_range[-1]
        more = _MORE.match(text, last.end())
        if more and more.group(1).upper() in letters and more.group(1).upper() != last.group("letter").upper():
            return ParsedAnswer(None, "ambiguous")
        return ParsedAnswer(last.group("letter").upper(), "marker")
    bare = _BARE.match(text)
    if bare:
        letter = bare.group(1).upper()
        return ParsedAnswer(letter, "bare") if letter in letters else ParsedAnswer(None, "no_letter")
    mentioned = {(m.group(1) or m.group(2) or m.group(3)).upper() for m in _MENTION.finditer(text)}
    mentioned &= set(letters)
    leading = _LEADING.match(text)
    if leading:
        letter = next(g for g in leading.groups() if g).upper()
        if letter in letters and mentioned <= {letter}:
            return ParsedAnswer(letter, "leading")
    if len(mentioned) == 1:
        return ParsedAnswer(mentioned.pop(), "mention")
    if len(mentioned) > 1 or _letter_list(text, letters):
        return ParsedAnswer(None, "ambiguous")
    return _by_option_text(text, letters, choices)


def _marker_letter(m: re.Match[str], letters: str) -> bool:
    letter = m.group("letter")
    if letter.upper() not in letters:
        return False
    if letter.islower() and not (m.group("open") or m.group("close")):
        # "the answer is a protein": an article, unless the letter stands alone before punctuation or the end
        rest = m.string[m.end():]
        return not rest.strip() or rest.lstrip()[0] in ".,;:!)\n" or rest.startswith("\n")
    return True


def _letter_list(text: str, letters: str) -> bool:
    """"A, C" / "B or D": nothing but several option letters."""
    tokens = [t for t in re.split(r"[\W_]+|\band\b|\bor\b", text) if t]
    return len(tokens) > 1 and all(len(t) == 1 and t.upper() in letters for t in tokens)


def _norm(text: str) -> str:
    return _SPACE.sub(" ", re.sub(r"[^\w\s]", " ", text.lower())).strip()


def _by_option_text(text: str, letters: str, choices: Sequence[str]) -> ParsedAnswer:
    if not choices:
        return ParsedAnswer(None, "no_letter")
    said = f" {_norm(text)} "
    names = [_norm(c) for c in choices[: len(letters)]]
    found = [i for i, name in enumerate(names) if name and f" {name} " in said]
    # options that are part of a longer matched option ("x" inside "x and y") were matched through it
    found = [i for i in found if not any(j != i and names[i] in names[j] for j in found)]
    if len(found) != 1:
        return ParsedAnswer(None, "ambiguous" if found else "no_letter")
    if f" not {names[found[0]]} " in said:
        return ParsedAnswer(None, "ambiguous")
    return ParsedAnswer(letters[found[0]], "option_text")
