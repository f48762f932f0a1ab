"""Reading plain-text answers of the ``small`` prompt style: the question, message or passage a model wrote,
without the labels, quotes and continuations small models add.

Example:
    >>> question('Question: "Why does a sealed bottle crack in the freezer?"\\n\\nText: another one')
    'Why does a sealed bottle crack in the freezer?'
    >>> question("Sure! Here is a question: How do tides form?")
    'How do tides form?'
    >>> question('A person who wants to know about bone might ask, "What is osteogenesis?')
    'What is osteogenesis?'
    >>> question("1. How does FBW7 act in cancer?")
    'How does FBW7 act in cancer?'
    >>> question("Why do tides rise twice a day?\\n\\nFacts: The Moon pulls the oceans.")
    'Why do tides rise twice a day?'
    >>> passage("Passage: Tides rise twice a day.\\nQuestion: why")
    'Tides rise twice a day.'
"""
from __future__ import annotations

import re

# labels a model repeats from the few-shot pattern; what follows a *new* label is a continuation, not the answer
_LABEL = re.compile(r"^\s*(?:\*\*)?(?:question|q|message|passage|answer|query|text|facts?|score)\s*\d*\s*(?:\*\*)?\s*[:：]\s*",
                    re.I)
_NEXT = re.compile(r"\n\s*(?:\*\*)?(?:question|q|text|facts?|document|answer|message|passage|note)\s*\d*\s*(?:\*\*)?\s*[:：]",
                   re.I)
_PREAMBLE = re.compile(r"^\s*(?:sure|certainly|of course|okay|ok|here(?:'s| is| are))[^:\n]{0,60}:\s*", re.I)
# "You could ask:", "A person who wants to know about X might ask," and list numbers: lead-ins, not the question
_LEAD_IN = re.compile(r"^\s*(?:\d{1,2}[.)]\s+|[^:\n?]{0,80}\b(?:could|might|would|should|may|can)\s+ask\b[^:\n?]{0,20}[:,]\s*)",
                      re.I)
_QUOTES = "\"'“”‘’`"


def _strip(text: str) -> str:
    text = _PREAMBLE.sub("", text.strip())
    text = _LABEL.sub("", text)
    return text.strip().strip(_QUOTES).strip()


def passage(text: str | None) -> str:
    """A free text answer (a message, a passage) cut before the model starts a new labelled section."""
    if not text:
        return ""
    body = _strip(text)
    cut = _NEXT.search("\n" + body)
    if cut:
        body = ("\n" + body)[: cut.start()]
    return body.strip().strip(_QUOTES).strip()


def question(text: str | None) -> str:
    """The first question (or, failing that, the first line) of a short answer."""
    body = passage(text)
    first = next((line.strip() for line in body.splitlines() if line.strip()), "")
    first = _strip(_LEAD_IN.sub("", _strip(first)))
    mark = first.find("?")
    if mark >= 0:
        first = first[: mark + 1]
    return first.strip()
