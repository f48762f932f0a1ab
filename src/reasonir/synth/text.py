"""Text helpers shared by every synthesis stage: normalising, counting words, hashing, wrapping documents.

Documents are data, never instructions: ``wrap_document`` puts a document between delimiters that the system
prompt names, and strips anything inside it that looks like those delimiters, so a document cannot close its own
frame and speak as the user.

Example:
    >>> normalise("<p>Caf&eacute;  <b>au</b> lait</p>")
    'Café au lait'
    >>> count_words("猫が好き and dogs")
    6
    >>> truncate_words("one two three four", 2)
    ('one two …', True)
"""
from __future__ import annotations

import hashlib
import html
import re
import unicodedata

# One "word" is a run of letters/digits, or a single CJK/kana/hangul character (those scripts use no spaces).
_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]|\w+")
_TAG = re.compile(r"<(?:script|style)\b.*?</(?:script|style)>|<!--.*?-->|<[^>]{1,500}>", re.S | re.I)
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")  # keeps \t \n \r

DOC_OPEN = "<<<DOCUMENT>>>"
DOC_CLOSE = "<<<END DOCUMENT>>>"


def normalise(text: str) -> str:
    """NFKC, HTML tags and entities removed, whitespace collapsed: the text a seed is judged and hashed on."""
    text = unicodedata.normalize("NFKC", text or "")
    if "<" in text and ">" in text:
        text = _TAG.sub(" ", text)
    text = html.unescape(text)
    text = _CONTROL.sub("", text)
    return _SPACE.sub(" ", text).strip()


def words(text: str) -> list[str]:
    """Lower-cased word tokens (see module doc for CJK)."""
    return _WORD.findall(text.lower())


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def content_hash(text: str, normalised: bool = False) -> str:
    """Hash of the normalised, case-folded word sequence: equal for copies that differ in spacing, case or markup
    (pass ``normalised=True`` for text already through ``normalise``)."""
    text = text if normalised else normalise(text)
    return hashlib.sha256(" ".join(words(text)).encode("utf-8")).hexdigest()[:20]


def jaccard(a: str, b: str) -> float:
    """Word-set Jaccard similarity, the cheap near-duplicate test used beside content hashes."""
    sa, sb = set(words(a)), set(words(b))
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


def truncate_words(text: str, max_words: int) -> tuple[str, bool]:
    """Cut ``text`` after ``max_words`` words (whitespace-separated pieces), marking the cut with an ellipsis."""
    pieces = text.split()
    if len(pieces) <= max_words and count_words(text) <= max_words * 2:
        return text, False
    if len(pieces) <= max_words:  # unspaced scripts: cut by characters instead
        return text[: max_words * 2] + " …", True
    return " ".join(pieces[:max_words]) + " …", True


def wrap_document(text: str, title: str = "") -> str:
    """Frame a document as data between the delimiters the system prompt describes."""
    body = f"{title}\n\n{text}" if title else text
    body = body.replace("<<<", "‹‹‹").replace(">>>", "›››")
    return f"{DOC_OPEN}\n{body}\n{DOC_CLOSE}"


def longest_shared_span(a: str, b: str) -> int:
    """Length in words of the longest run of consecutive words that ``a`` copies from ``b``.

    >>> longest_shared_span("the cat sat on the mat today", "yesterday the cat sat on a mat")
    4
    """
    wa, wb = words(a), words(b)
    if not wa or not wb:
        return 0
    # dynamic programme over a, keeping one row; b's positions per word make it sparse
    where: dict[str, list[int]] = {}
    for j, w in enumerate(wb):
        where.setdefault(w, []).append(j)
    best, prev = 0, {}
    for w in wa:
        cur = {}
        for j in where.get(w, ()):
            cur[j] = prev.get(j - 1, 0) + 1
            if cur[j] > best:
                best = cur[j]
        prev = cur
    return best
