"""Records and loaders: BEIR, BRIGHT (local parquet/JSONL or the hub), a user's own corpus, training rows.

Bad input raises ``DataError`` naming file, line (or row) and field. Entry points:
``load_dataset(spec)`` (what the CLI calls), ``load_corpus(path)`` (``iter_corpus`` streams it), ``load_beir``,
``load_bright``, ``read_training_rows``/``write_training_rows``/``to_hf_dataset``, and ``JsonlAppender`` for
resumable jobs.
Heavy libraries (pyarrow, datasets) are imported only by the functions that need them.
"""
from __future__ import annotations

from reasonir.data import records
from reasonir.data.appender import JsonlAppender
from reasonir.data.atomic import atomic_open
from reasonir.data.beir import load_beir
from reasonir.data.bright import BRIGHT_LONG_TASKS, BRIGHT_REVISION, BRIGHT_TASKS, load_bright
from reasonir.data.corpus import iter_corpus, load_corpus
from reasonir.data.errors import DataError, SourceUnavailableError
from reasonir.data.records import Dataset, Document, Query, TrainingRow
from reasonir.data.spec import BRIGHT_DIR_ENV, DatasetSpec, load_dataset, parse_spec
from reasonir.data.training import (
    INSTRUCTION_FORMATS,
    HFColumns,
    InstructionFormat,
    export_hf,
    hf_columns,
    read_training_rows,
    row_from_dict,
    row_to_dict,
    to_hf_dataset,
    write_training_rows,
)

__all__ = [
    "BRIGHT_DIR_ENV", "BRIGHT_LONG_TASKS", "BRIGHT_REVISION", "BRIGHT_TASKS", "INSTRUCTION_FORMATS",
    "DataError", "Dataset", "DatasetSpec", "Document", "HFColumns", "InstructionFormat", "JsonlAppender", "Query",
    "SourceUnavailableError", "TrainingRow", "atomic_open", "export_hf", "hf_columns", "iter_corpus", "load_beir",
    "load_bright", "load_corpus", "load_dataset", "parse_spec", "read_training_rows", "records", "row_from_dict",
    "row_to_dict", "to_hf_dataset", "write_training_rows",
]
