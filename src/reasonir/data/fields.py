"""Typed field access for loaded rows: every wrong type becomes a DataError naming file, line and field."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from reasonir.data.errors import DataError

NONE_MARKER = "N/A"  # BRIGHT writes ["N/A"] for "no ids" in excluded_ids and gold_ids_long


def pick(obj: dict, names: Sequence[str]) -> str | None:
    """The first of ``names`` present in ``obj`` (for fields with aliases such as ``_id``/``id``)."""
    return next((name for name in names if name in obj), None)


def as_id(value: object, path: str | Path, line: int | None, field: str) -> str:
    """An identifier: a string, or an integer written as a number (BEIR files do both)."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise DataError(path, line, field, f"expected a non-empty string id, got {_describe(value)}")


def as_text(value: object, path: str | Path, line: int | None, field: str, *, empty_ok: bool = True) -> str:
    if not isinstance(value, str):
        raise DataError(path, line, field, f"expected a string, got {_describe(value)}")
    if not empty_ok and not value.strip():
        raise DataError(path, line, field, "empty")
    return value


def as_id_list(value: object, path: str | Path, line: int | None, field: str) -> tuple[str, ...]:
    """A list of ids; BRIGHT's "N/A" entries mean "none" and are dropped."""
    if not isinstance(value, (list, tuple)):
        raise DataError(path, line, field, f"expected a list of ids, got {_describe(value)}")
    return tuple(as_id(v, path, line, field) for v in value if v != NONE_MARKER)


def as_text_list(value: object, path: str | Path, line: int | None, field: str, *, empty_ok: bool) -> list[str]:
    if not isinstance(value, (list, tuple)):
        raise DataError(path, line, field, f"expected a list of strings, got {_describe(value)}")
    if not value and not empty_ok:
        raise DataError(path, line, field, "empty list")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise DataError(path, line, f"{field}[{i}]", f"expected a string, got {_describe(item)}")
        if not item.strip():
            raise DataError(path, line, f"{field}[{i}]", "empty string")
    return list(value)


def _describe(value: object) -> str:
    return "null" if value is None else type(value).__name__
