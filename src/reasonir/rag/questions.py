"""Multiple-choice questions from the files people have: MMLU, GPQA, a generic JSONL, SciFact claims.

Every format becomes a list of :class:`Question` (text, choices, index of the right one, subject, gold evidence
document ids when the task has them). Bad input raises ``DataError`` naming file, line and field.

Formats (``format="auto"`` tells them apart by extension and header):

* ``mmlu``: the CSV with a header ``question,choice0,choice1,choice2,choice3,answer`` (answer 0-3), as in
  ``../shared/data/mmlu``; ``mmlu-original``: Hendrycks' header-less ``question,A,B,C,D,answer`` (answer A-D).
  A folder loads every ``*.csv`` in it; the subject is the file name without ``_test``/``_dev``/``_val``.
* ``gpqa``: GPQA's published CSV (``Question``, ``Correct Answer``, ``Incorrect Answer 1..3``, ``Record ID``,
  ``Subdomain``...). The four options are shuffled with a fixed seed per question (GPQA ships the right answer
  first), so a rerun sees the same order.
* ``jsonl``: one ``{"question", "choices", "answer"}`` object a line; ``answer`` is a 0-based index, a letter or the
  text of a choice; ``id``, ``subject``, ``evidence_ids`` and ``query`` (the text to retrieve with) are optional.
* ``scifact``: SciFact's claims CSV (``id,claim,evidence_doc_id,evidence_label,...``), or the zip that holds
  ``claims_{split}.csv``. Claims whose evidence is labelled SUPPORT or CONTRADICT become a two-way question
  (A Supported / B Contradicted) with the evidence abstracts as gold documents; claims without evidence (not
  enough info) and claims labelled both ways are skipped and counted.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "q.jsonl"
    >>> _ = path.write_text('{"question": "2+2?", "choices": ["3", "4"], "answer": "B"}\\n')
    >>> qs = load_questions(path)
    >>> qs.questions[0].letter, qs.format
    ('B', 'jsonl')
"""
from __future__ import annotations

import csv
import io
import random
import re
import string
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from reasonir.data.errors import DataError
from reasonir.data.jsonl import read_jsonl
from reasonir.rag.prompts import load_prompts

QuestionFormat = Literal["auto", "mmlu", "mmlu-original", "gpqa", "jsonl", "scifact"]
LETTERS = string.ascii_uppercase
MMLU_HEADER = ("question", "choice0", "choice1", "choice2", "choice3", "answer")  # ../shared/data/mmlu/README.txt
GPQA_COLUMNS = ("Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")
SCIFACT_COLUMNS = ("id", "claim", "evidence_doc_id", "evidence_label")
SCIFACT_LABELS = {"SUPPORT": 0, "CONTRADICT": 1}  # index into SCIFACT_CHOICES
SCIFACT_CHOICES = ("Supported", "Contradicted")
GPQA_SEED = 0  # any fixed seed; GPQA's own baselines shuffle with a seed too
_SPLIT_SUFFIX = re.compile(r"_(test|dev|val|validation|train)$")


@dataclass(frozen=True)
class Question:
    """One multiple-choice question; ``answer`` indexes ``choices``; ``query`` is the text to retrieve with."""

    id: str
    text: str
    choices: tuple[str, ...]
    answer: int
    subject: str = ""
    evidence_ids: tuple[str, ...] = ()
    query: str = ""
    source: str = ""  # file:line, for messages

    @property
    def letter(self) -> str:
        return LETTERS[self.answer]

    @property
    def letters(self) -> str:
        return LETTERS[: len(self.choices)]

    @property
    def retrieval_text(self) -> str:
        return self.query or self.text


@dataclass
class QuestionSet:
    questions: list[Question]
    format: str
    source: str
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count (SciFact: no evidence, conflicting)


def load_questions(path: str | Path, *, format: QuestionFormat = "auto", seed: int = GPQA_SEED,
                   split: str = "validation") -> QuestionSet:
    """Load questions from a file or (MMLU) a folder of CSV files; see the module docstring for the formats.

    ``seed`` fixes GPQA's option order; ``split`` picks ``claims_{split}.csv`` from a SciFact zip (the
    validation claims are BEIR's SciFact test queries).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".csv")
        if not files:
            raise DataError(path, None, None, "folder holds no .csv question files")
        formats = {detect_format(p) if format == "auto" else format for p in files}
        if len(formats) > 1:
            raise DataError(path, None, None, f"files of several formats in one folder: {sorted(formats)}")
        fmt = formats.pop()
        questions = [q for p in files for q in _load_file(p, fmt, seed, split).questions]
        return QuestionSet(questions, fmt, str(path))
    fmt = detect_format(path) if format == "auto" else format
    return _load_file(path, fmt, seed, split)


def detect_format(path: Path) -> str:
    if path.suffix == ".jsonl":
        return "jsonl"
    if path.suffix == ".zip":
        return "scifact"
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh), [])
    names = [h.strip() for h in header]
    if tuple(names) == MMLU_HEADER:
        return "mmlu"
    if all(c in names for c in GPQA_COLUMNS):
        return "gpqa"
    if all(c in names for c in SCIFACT_COLUMNS):
        return "scifact"
    if len(names) == 6 and names[5].strip().upper() in ("A", "B", "C", "D"):
        return "mmlu-original"
    raise DataError(path, 1, None, "unrecognised question file: expected an MMLU header "
                    f"{','.join(MMLU_HEADER)}, GPQA columns, SciFact claim columns, six header-less MMLU columns "
                    "ending in A-D, or a .jsonl file")


def _load_file(path: Path, fmt: str, seed: int, split: str) -> QuestionSet:
    if fmt in ("mmlu", "mmlu-original"):
        return QuestionSet(list(_mmlu(path, header=fmt == "mmlu")), fmt, str(path))
    if fmt == "gpqa":
        return QuestionSet(list(_gpqa(path, seed)), fmt, str(path))
    if fmt == "jsonl":
        return QuestionSet(list(_jsonl(path)), fmt, str(path))
    if fmt == "scifact":
        return _scifact(path, split)
    raise ValueError(f"unknown question format {fmt!r}")


def _csv_rows(fh: io.TextIOBase) -> Iterator[tuple[int, list[str]]]:
    """Rows with the line each starts on (a quoted field may span lines)."""
    reader = csv.reader(fh)
    start = 1
    for row in reader:
        yield start, row
        start = reader.line_num + 1


def _text(value: str, path: Path, line: int, name: str) -> str:
    if not value.strip():
        raise DataError(path, line, name, "empty")
    return value.strip()


def _mmlu(path: Path, *, header: bool) -> Iterator[Question]:
    subject = _SPLIT_SUFFIX.sub("", path.stem)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = _csv_rows(fh)
        if header:
            next(rows, None)
        for line, row in rows:
            if not row:
                continue
            if len(row) != 6:
                raise DataError(path, line, None, f"expected 6 columns (question, 4 choices, answer), got {len(row)}")
            names = MMLU_HEADER if header else ("question", "A", "B", "C", "D", "answer")
            text = _text(row[0], path, line, names[0])
            choices = tuple(_text(c, path, line, n) for c, n in zip(row[1:5], names[1:5]))
            raw = row[5].strip()
            if header:
                if raw not in ("0", "1", "2", "3"):
                    raise DataError(path, line, "answer", f"expected 0-3, got {raw!r}")
                answer = int(raw)
            else:
                if raw.upper() not in ("A", "B", "C", "D"):
                    raise DataError(path, line, "answer", f"expected A-D, got {raw!r}")
                answer = "ABCD".index(raw.upper())
            yield Question(f"{subject}/{line}", text, choices, answer, subject, query=_with_choices(text, choices),
                           source=f"{path}:{line}")


def _with_choices(text: str, choices: tuple[str, ...]) -> str:
    """Retrieve with the question and its options: the options often name what the question only implies."""
    return " ".join([text, *choices])


def _dict_rows(reader: csv.DictReader, columns: Sequence[str], where: str | Path,
               what: str) -> Iterator[tuple[int, dict]]:
    """(first line of the record, row) of a headed CSV, after checking the header names every one of ``columns``
    (``_csv_rows`` is the header-less twin)."""
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise DataError(where, 1, missing[0], f"missing {what}")
    line = 1
    for row in reader:
        start, line = line + 1, reader.line_num  # a quoted field may span lines: the record starts after the last
        yield start, row


def _gpqa(path: Path, seed: int) -> Iterator[Question]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for start, row in _dict_rows(csv.DictReader(fh), GPQA_COLUMNS, path, "GPQA column"):
            text = _text(row["Question"] or "", path, start, "Question")
            options = [_text(row[c] or "", path, start, c) for c in GPQA_COLUMNS[1:]]
            qid = (row.get("Record ID") or "").strip() or str(start)
            order = list(range(4))
            random.Random(f"{seed}:{qid}").shuffle(order)  # per question, so file order does not matter
            choices = tuple(options[i] for i in order)
            subject = (row.get("Subdomain") or row.get("High-level domain") or "").strip()
            yield Question(qid, text, choices, order.index(0), subject, query=_with_choices(text, choices),
                           source=f"{path}:{start}")


def _jsonl(path: Path) -> Iterator[Question]:
    seen: set[str] = set()
    for line, obj in read_jsonl(path, ("question", "choices", "answer")):
        text = obj["question"]
        if not isinstance(text, str) or not text.strip():
            raise DataError(path, line, "question", "expected a non-empty string")
        choices = obj["choices"]
        if (not isinstance(choices, list) or not 2 <= len(choices) <= len(LETTERS)
                or not all(isinstance(c, str) and c.strip() for c in choices)):
            raise DataError(path, line, "choices", f"expected a list of 2 to {len(LETTERS)} non-empty strings")
        choices = tuple(c.strip() for c in choices)
        answer = _jsonl_answer(obj["answer"], choices, path, line)
        qid = str(obj.get("id", line))
        if qid in seen:
            raise DataError(path, line, "id", f"duplicate id {qid!r}")
        seen.add(qid)
        evidence = obj.get("evidence_ids", [])
        if not isinstance(evidence, list):
            raise DataError(path, line, "evidence_ids", "expected a list of document ids")
        yield Question(qid, text.strip(), choices, answer, str(obj.get("subject", "")),
                       tuple(str(e) for e in evidence), str(obj.get("query", "")), f"{path}:{line}")


def _jsonl_answer(value: object, choices: tuple[str, ...], path: Path, line: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(choices):
        return value
    if isinstance(value, str):
        if len(value.strip()) == 1 and value.strip().upper() in LETTERS[: len(choices)]:
            return LETTERS.index(value.strip().upper())
        if value.strip() in choices:
            return choices.index(value.strip())
    raise DataError(path, line, "answer", f"expected an index 0-{len(choices) - 1}, a letter "
                    f"A-{LETTERS[len(choices) - 1]} or one of the choices, got {value!r}")


def _scifact(path: Path, split: str) -> QuestionSet:
    if path.suffix == ".zip":
        member = f"claims_{split}.csv"
        with zipfile.ZipFile(path) as zf:
            if member not in zf.namelist():
                raise DataError(path, None, "split", f"no {member} in the zip (has: {', '.join(zf.namelist())})")
            text = zf.read(member).decode("utf-8-sig")
        where = f"{path}:{member}"
    else:
        text, where = path.read_text(encoding="utf-8-sig"), str(path)
    claims: dict[str, dict] = {}  # SciFact writes one row per (claim, evidence sentence set)
    for start, row in _dict_rows(csv.DictReader(io.StringIO(text, newline="")), SCIFACT_COLUMNS, where,
                                 "SciFact claims column"):
        cid = _text(row["id"] or "", Path(where), start, "id")
        claim = claims.setdefault(cid, {"text": _text(row["claim"] or "", Path(where), start, "claim"),
                                        "labels": set(), "docs": [], "line": start})
        label = (row["evidence_label"] or "").strip()
        if not label:
            continue
        if label not in SCIFACT_LABELS:
            raise DataError(where, start, "evidence_label", f"expected SUPPORT or CONTRADICT, got {label!r}")
        doc = _text(row["evidence_doc_id"] or "", Path(where), start, "evidence_doc_id")
        claim["labels"].add(label)
        if doc not in claim["docs"]:
            claim["docs"].append(doc)
    prompts = load_prompts()
    questions, skipped = [], {"no_evidence": 0, "conflicting_labels": 0}
    for cid, c in claims.items():
        if not c["labels"]:
            skipped["no_evidence"] += 1
            continue
        if len(c["labels"]) > 1:
            skipped["conflicting_labels"] += 1
            continue
        (label,) = c["labels"]
        questions.append(Question(cid, prompts.render("scifact_question", claim=c["text"]), SCIFACT_CHOICES,
                                  SCIFACT_LABELS[label], "scifact", tuple(c["docs"]), c["text"],
                                  f"{where}:{c['line']}"))
    return QuestionSet(questions, "scifact", where, skipped)
