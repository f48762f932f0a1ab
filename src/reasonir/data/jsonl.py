"""One JSONL reader (plain or gzip) for every loader, so all report bad lines the same way."""
from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

from reasonir.data.errors import DataError


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line number, text) of a plain or gzip text file, raising DataError on bytes that are not UTF-8."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(path, lineno, None, f"bytes are not UTF-8 ({exc.reason})") from None
            yield lineno, text


def read_jsonl(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object), raising DataError on bad UTF-8, bad JSON or a missing field."""
    for lineno, text in read_lines(path):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(path, lineno, None, f"malformed JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise DataError(path, lineno, None, "expected a JSON object")
        for name in required:
            if name not in obj:
                raise DataError(path, lineno, name, "missing field")
        yield lineno, obj
