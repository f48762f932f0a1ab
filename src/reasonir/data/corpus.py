"""A user's own corpus: a JSONL or parquet file, a BEIR folder, or a folder of .txt/.md files.

Records (JSONL, gzip JSONL, parquet, BEIR ``corpus.jsonl``) need an id (``_id`` or ``id``) and a text (``text`` or
``content``); ``title`` is optional. In a folder of text files each ``.txt``/``.md`` file is one document: its id
is the path relative to the folder without the suffix, and a Markdown file's first heading is its title. Hidden
files and folders (``.git``) are skipped. An empty corpus, a duplicate id or bytes that are not UTF-8 stop with
the file (and line) named.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "notes.md").write_text("# Photosynthesis\\nPlants turn light into sugar.\\n")
    >>> load_corpus(folder)
    [Document(id='notes', text='# Photosynthesis\\nPlants turn light into sugar.\\n', title='Photosynthesis')]
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from reasonir.data.errors import DataError
from reasonir.data.fields import as_id, as_text, pick
from reasonir.data.records import Document
from reasonir.data.tables import read_table

ID_FIELDS = ("_id", "id")  # BEIR writes _id; BRIGHT and most user files write id
TEXT_FIELDS = ("text", "content")  # BEIR writes text; BRIGHT writes content
TEXT_SUFFIXES = (".txt", ".md")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")  # an ATX heading (CommonMark)
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


def load_corpus(path: str | Path) -> list[Document]:
    """Load documents from a records file, a BEIR folder (its ``corpus.jsonl``) or a folder of text files."""
    return list(iter_corpus(path))


def iter_corpus(path: str | Path) -> Iterator[Document]:
    """:func:`load_corpus` one document at a time, in file order, for corpora larger than memory (only the ids
    are kept, to catch duplicates); the same checks, each raised when its document is reached."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such corpus file or folder")
    if path.is_dir():
        beir_corpus = path / "corpus.jsonl"
        return _from_records(beir_corpus) if beir_corpus.is_file() else _from_text_folder(path)
    return _from_records(path)


def _from_records(path: Path) -> Iterator[Document]:
    first_line: dict[str, int] = {}
    for line, obj in read_table(path, wanted=(*ID_FIELDS, *TEXT_FIELDS, "title")):
        id_field, text_field = pick(obj, ID_FIELDS), pick(obj, TEXT_FIELDS)
        if id_field is None:
            raise DataError(path, line, "id", "missing field (id or _id)")
        if text_field is None:
            raise DataError(path, line, "text", "missing field (text or content)")
        did = as_id(obj[id_field], path, line, id_field)
        if did in first_line:
            raise DataError(path, line, id_field, f"duplicate id {did!r} (first at line {first_line[did]})")
        first_line[did] = line
        title = obj.get("title")
        title = "" if title is None else as_text(title, path, line, "title")
        yield Document(did, as_text(obj[text_field], path, line, text_field), title)
    if not first_line:
        raise DataError(path, None, None, "empty corpus (no documents)")


def _from_text_folder(folder: Path) -> Iterator[Document]:
    files = sorted(
        p for p in folder.rglob("*")
        if p.suffix.lower() in TEXT_SUFFIXES and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    if not files:
        raise DataError(folder, None, None, "empty corpus (no .txt or .md files)")
    first_file: dict[str, Path] = {}
    for path in files:
        did = path.relative_to(folder).with_suffix("").as_posix()
        if did in first_file:
            raise DataError(path, None, "id", f"duplicate id {did!r} (also {first_file[did]})")
        first_file[did] = path
        text = _read_utf8(path)
        title = markdown_title(text) if path.suffix.lower() == ".md" else ""
        yield Document(did, text, title)


def _read_utf8(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")  # -sig: drop a byte-order mark some editors write
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(path, line, None, f"bytes are not UTF-8 ({exc.reason} at byte {exc.start})") from None


def markdown_title(text: str) -> str:
    """The first ATX heading outside code fences, or "" (``.txt`` files get no title: '#' is not markup there).

    >>> markdown_title("```\\n# not a title\\n```\\n## Real title ##\\n")
    'Real title'
    """
    in_fence = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and (match := _HEADING.match(line)):
            return match.group(1)
    return ""
