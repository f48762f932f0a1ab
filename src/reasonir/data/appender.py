"""Append-only JSONL for resumable jobs: every line is written whole and fsynced, so a crash (even ``kill -9``)
loses at most the line being written, and reopening the file repairs that torn line and says what is done.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "out.jsonl"
    >>> with JsonlAppender(path, key="id") as out:
    ...     out.append({"id": "a", "answer": 1})
    >>> _ = open(path, "a").write('{"id": "b", "ans')          # a crash in the middle of a line
    >>> with JsonlAppender(path, key="id") as out:              # the same job, started again
    ...     sorted(out.keys), out.torn_bytes
    (['a'], 16)
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from reasonir.data.errors import DataError
from reasonir.data.fields import as_id


def key_of(obj: dict, key: str, path: str | Path = "<row>", line: int | None = None) -> str:
    """Read ``key`` from ``obj``; a dotted key (``meta.row_key``) walks into nested objects."""
    value: object = obj
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise DataError(path, line, key, "missing field")
        value = value[part]
    return as_id(value, path, line, key)


class JsonlAppender:
    """Append whole JSON lines to ``path`` with flush + fsync; on open, repair a torn last line.

    ``key`` names the field (dotted for nested) that identifies a row; ``keys`` holds those already in the file,
    so a resumed job skips them. With ``unique=True`` a second row with the same key is refused rather than
    written, so a resumed job cannot duplicate work. One writer at a time: a second appender on the same file
    fails (POSIX advisory lock). ``torn_bytes`` is how many bytes of a torn last line were cut on open.
    """

    def __init__(self, path: str | Path, key: str = "id", unique: bool = True, fsync: bool = True) -> None:
        self.path, self.key, self.unique, self._fsync = Path(path), key, unique, fsync
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a+b")  # append mode: every write lands at the end, whatever the position
        try:
            self._lock()
            self.keys: set[str] = set()
            self.count = 0
            self.torn_bytes = self._recover()
        except BaseException:
            self._fh.close()
            raise

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock
            return
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"{self.path}: another process is appending to this file") from None

    def _recover(self) -> int:
        """Read the complete lines, collect their keys, and cut a trailing partial line (a crash mid-write)."""
        self._fh.seek(0)
        good_end = 0
        for lineno, raw in enumerate(self._fh, start=1):
            if not raw.endswith(b"\n"):
                break  # the torn last line: everything before good_end was written whole
            good_end += len(raw)
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise DataError(self.path, lineno, None, f"malformed line in a complete write ({exc})") from None
            if not isinstance(obj, dict):
                raise DataError(self.path, lineno, None, "expected a JSON object")
            self._remember(key_of(obj, self.key, self.path, lineno), lineno)
        size = self._fh.seek(0, os.SEEK_END)
        if size > good_end:
            os.ftruncate(self._fh.fileno(), good_end)
            os.fsync(self._fh.fileno())
        return size - good_end

    def _remember(self, key: str, lineno: int | None) -> None:
        if self.unique and key in self.keys:
            raise DataError(self.path, lineno, self.key, f"duplicate key {key!r}")
        self.keys.add(key)
        self.count += 1

    def append(self, obj: dict) -> None:
        """Write one row as one line; it is on disk when this returns."""
        self.append_many([obj])

    def append_many(self, objs: Iterable[dict]) -> None:
        """Write several rows with one write and one fsync (a crash may keep a prefix of them, never half a row)."""
        objs = list(objs)
        keys = [key_of(obj, self.key) for obj in objs]
        if self.unique:
            repeated = [k for k in keys if k in self.keys] or [k for i, k in enumerate(keys) if k in keys[:i]]
            if repeated:
                raise ValueError(f"{self.path}: key {repeated[0]!r} already written")
        data = b"".join((json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8") for obj in objs)
        self._fh.write(data)
        self._fh.flush()
        if self._fsync:
            os.fsync(self._fh.fileno())
        for k in keys:
            self._remember(k, None)

    def __contains__(self, key: str) -> bool:
        return key in self.keys

    def close(self) -> None:
        self._fh.close()  # closing the descriptor releases the lock

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
