from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Bad input, located: ``file:line: field: message``."""

    def __init__(self, path: str | Path, line: int | None, field: str | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        what = f"{field}: {message}" if field else message
        super().__init__(f"{where}: {what}")
        self.path, self.line, self.field = str(path), line, field
