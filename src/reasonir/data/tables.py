"""Row sources by file type: JSONL (plain or gzip) and parquet, both yielding ``(line or row, object)``.

Parquet rows are numbered from 1 like lines, so ``DataError`` reads the same for both (``file:row: field: ...``).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from reasonir.data.errors import DataError
from reasonir.data.jsonl import read_jsonl
from reasonir.optional import require

JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson")
PARQUET_SUFFIXES = (".parquet",)


def is_parquet(path: Path) -> bool:
    return path.name.lower().endswith(PARQUET_SUFFIXES)


def is_jsonl(path: Path) -> bool:
    return path.name.lower().endswith(JSONL_SUFFIXES)


def read_parquet(
    path: Path, required: Sequence[str] = (), wanted: Sequence[str] | None = None, batch_size: int = 1024
) -> Iterator[tuple[int, dict]]:
    """Yield (row number from 1, row as dict), reading only ``required`` + ``wanted`` columns when given.

    A missing required column is named; a null in a required column is named with its row.
    """
    pa = require("pyarrow", "models", purpose="reading parquet")
    pq = require("pyarrow.parquet", "models", purpose="reading parquet")
    try:
        handle = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(path, None, None, f"not a readable parquet file ({exc})") from None
    names = handle.schema_arrow.names
    for name in required:
        if name not in names:
            raise DataError(path, None, name, f"missing column (columns: {', '.join(names)})")
    columns = None if wanted is None else [n for n in dict.fromkeys([*required, *wanted]) if n in names]
    row = 0
    for batch in handle.iter_batches(batch_size=batch_size, columns=columns):
        for obj in batch.to_pylist():
            row += 1
            for name in required:
                if obj[name] is None:
                    raise DataError(path, row, name, "missing value (null)")
            yield row, obj


def read_table(
    path: Path, required: Sequence[str] = (), wanted: Sequence[str] | None = None
) -> Iterator[tuple[int, dict]]:
    """Rows of a JSONL (``.jsonl``, ``.jsonl.gz``) or parquet file, chosen by the file name."""
    if is_parquet(path):
        return read_parquet(path, required, wanted)
    if is_jsonl(path):
        return read_jsonl(path, tuple(required))
    raise DataError(path, None, None, "unsupported file type: expected .jsonl, .jsonl.gz or .parquet")
