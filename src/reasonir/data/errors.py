"""Errors that say where: bad input names its file, line (or row) and field; an unreachable source says what to do."""
from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Bad input, located: ``file:line: field: message``.

    ``line`` is the 1-based line of a text file, or the 1-based row of a parquet file or hub split.

    Example:
        >>> str(DataError("corpus.jsonl", 3, "_id", "duplicate id 'd1'"))
        "corpus.jsonl:3: _id: duplicate id 'd1'"
    """

    def __init__(self, path: str | Path, line: int | None, field: str | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        what = f"{field}: {message}" if field else message
        super().__init__(f"{where}: {what}")
        self.path, self.line, self.field = str(path), line, field


class SourceUnavailableError(ConnectionError):
    """A remote source (the Hugging Face hub) could not be reached; the message says how to work offline.

    ``exit_code`` 3 is the CLI's "misconfiguration" code (see ``reasonir.cli``).
    """

    exit_code = 3
