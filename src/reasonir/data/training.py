"""Training rows: the JSONL layout FlagEmbedding users know, validated on read, written atomically, and
converted to the columns sentence-transformers trains on.

One row per line::

    {"query": "...", "pos": ["..."], "neg": ["...", "..."], "instruction": "...", "kind": "hq",
     "seed_id": "4983", "meta": {...}}

``query`` and a non-empty ``pos`` are required; ``neg`` defaults to [], ``instruction`` to "" (FlagEmbedding's
``prompt`` is read as the instruction), ``kind`` to "public", ``seed_id`` to null, ``meta`` to {}. Other fields
(FlagEmbedding's ``pos_scores``, ``neg_scores``, ``type``) are kept inside ``meta``.

Example:
    >>> row = row_from_dict({"query": "Why is the sky blue?", "pos": ["Rayleigh scattering ..."], "neg": ["Sky News"]})
    >>> hf_columns([row], n_negatives=1).columns["negative_1"]
    ['Sky News']
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from reasonir.data.atomic import atomic_folder, atomic_open
from reasonir.data.errors import DataError
from reasonir.data.fields import as_id, as_text, as_text_list
from reasonir.data.jsonl import read_jsonl
from reasonir.data.records import TrainingRow
from reasonir.optional import require

if TYPE_CHECKING:
    import datasets

logger = logging.getLogger(__name__)

# HQ (hard queries) and VL (varied-length): ReasonIR's synthetic kinds (Shao et al., 2025); public: any other data
RowKind = Literal["hq", "vl", "public"]
ROW_KINDS: tuple[str, ...] = get_args(RowKind)
ShortRows = Literal["drop", "error"]
Positives = Literal["first", "expand"]
_FIELDS = ("query", "pos", "neg", "instruction", "kind", "seed_id", "meta")
_INSTRUCTION_ALIASES = ("instruction", "prompt")  # FlagEmbedding calls it prompt


def row_from_dict(obj: object, path: str | Path = "<rows>", line: int | None = None) -> TrainingRow:
    """Validate one parsed row; every problem names ``path``, ``line`` and the field."""
    if not isinstance(obj, dict):
        raise DataError(path, line, None, "expected a JSON object")
    for name in ("query", "pos"):
        if name not in obj:
            raise DataError(path, line, name, "missing field")
    query = as_text(obj["query"], path, line, "query", empty_ok=False)
    pos = as_text_list(obj["pos"], path, line, "pos", empty_ok=False)
    neg = as_text_list(obj.get("neg", []), path, line, "neg", empty_ok=True)
    instruction_field = next((n for n in _INSTRUCTION_ALIASES if obj.get(n) is not None), None)
    instruction = as_text(obj[instruction_field], path, line, instruction_field) if instruction_field else ""
    kind = obj.get("kind", "public")
    if kind not in ROW_KINDS:
        raise DataError(path, line, "kind", f"expected one of {', '.join(ROW_KINDS)}, got {kind!r}")
    seed_id = obj.get("seed_id")
    seed_id = None if seed_id is None else as_id(seed_id, path, line, "seed_id")
    meta = obj.get("meta", {})
    if not isinstance(meta, dict):
        raise DataError(path, line, "meta", f"expected an object, got {type(meta).__name__}")
    meta = dict(meta)
    for name, value in obj.items():
        if name not in _FIELDS and name not in _INSTRUCTION_ALIASES:
            if name in meta:
                raise DataError(path, line, name, "also present inside meta")
            meta[name] = value
    return TrainingRow(query, pos, neg, instruction, kind, seed_id, meta)


def row_to_dict(row: TrainingRow) -> dict:
    """The JSON object for one row (field order as in the layout above)."""
    return {"query": row.query, "pos": list(row.pos), "neg": list(row.neg), "instruction": row.instruction,
            "kind": row.kind, "seed_id": row.seed_id, "meta": dict(row.meta)}


def read_training_rows(path: str | Path) -> list[TrainingRow]:
    """Read and validate every row before returning, so training never starts on a file that fails later."""
    path = Path(path)
    rows = [row_from_dict(obj, path, line) for line, obj in read_jsonl(path, ())]
    if not rows:
        raise DataError(path, None, None, "no training rows")
    return rows


def write_training_rows(rows: Iterable[TrainingRow], path: str | Path, overwrite: bool = False) -> Path:
    """Write rows atomically (temp file + ``os.replace``); an existing file is replaced only with ``overwrite``.

    Each row is validated as it would be read back, so whatever is written can be read.
    """
    path = Path(path)
    with atomic_open(path, overwrite=overwrite) as fh:
        for line, row in enumerate(rows, start=1):
            obj = row_to_dict(row)
            row_from_dict(obj, path, line)
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return path


@dataclass(frozen=True)
class InstructionFormat:
    """How a row's instruction joins its query in the ``anchor`` column (``str.format`` templates)."""

    with_instruction: str
    without_instruction: str = "{query}"

    def apply(self, instruction: str, query: str) -> str:
        template = self.with_instruction if instruction.strip() else self.without_instruction
        return template.format(instruction=instruction.strip(), query=query)


INSTRUCTION_FORMATS: dict[str, InstructionFormat] = {
    "plain": InstructionFormat("{instruction} {query}"),
    # E5-Mistral (Wang et al., 2024) and the BGE-EN-ICL family
    "e5": InstructionFormat("Instruct: {instruction}\nQuery: {query}"),
    # GritLM (Muennighoff et al., 2024), the format ReasonIR-8B was trained with
    "gritlm": InstructionFormat("<|user|>\n{instruction}\n<|embed|>\n{query}", "<|embed|>\n{query}"),
    # leave instructions out, e.g. to pass them as sentence-transformers `prompts` instead
    "none": InstructionFormat("{query}"),
}


@dataclass
class HFColumns:
    """sentence-transformers columns built from rows, and what the conversion did with each row."""

    columns: dict[str, list[str]]
    rows_in: int
    examples: int
    dropped_short: int = 0  # rows with fewer negatives than asked for, left out (short="drop")
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return (f"{self.examples} examples from {self.rows_in} training rows; "
                f"{self.dropped_short} rows dropped with too few negatives; " + "; ".join(self.notes))


def _format(instruction_format: str | InstructionFormat) -> InstructionFormat:
    if isinstance(instruction_format, InstructionFormat):
        return instruction_format
    if instruction_format not in INSTRUCTION_FORMATS:
        expected = ", ".join(INSTRUCTION_FORMATS)
        raise ValueError(f"unknown instruction format {instruction_format!r}; expected {expected}")
    return INSTRUCTION_FORMATS[instruction_format]


def hf_columns(
    rows: Sequence[TrainingRow],
    n_negatives: int = 1,
    instruction_format: str | InstructionFormat = "plain",
    short: ShortRows = "drop",
    positives: Positives = "first",
) -> HFColumns:
    """Columns ``anchor, positive, negative_1..negative_n`` (the layout sentence-transformers' contrastive losses
    read in order; Reimers & Gurevych, sentence-transformers docs, "Dataset Format").

    Each example takes a row's first ``n_negatives`` negatives in order. A row with fewer is dropped and counted
    (``short="drop"``) or stops the conversion (``short="error"``): padding with repeats would add duplicate
    negatives to the loss, and the in-batch negatives of the loss cover every row anyway. ``positives="first"``
    uses each row's first positive; ``"expand"`` makes one example per positive.
    """
    if n_negatives < 0:
        raise ValueError("n_negatives must be >= 0")
    fmt = _format(instruction_format)
    names = ["anchor", "positive", *(f"negative_{i}" for i in range(1, n_negatives + 1))]
    columns: dict[str, list[str]] = {name: [] for name in names}
    dropped = 0
    for index, row in enumerate(rows):
        if len(row.neg) < n_negatives:
            if short == "error":
                raise ValueError(f"rows[{index}] has {len(row.neg)} negatives, fewer than n_negatives={n_negatives}")
            dropped += 1
            continue
        anchor = fmt.apply(row.instruction, row.query)
        for positive in row.pos if positives == "expand" else row.pos[:1]:
            for name, value in zip(names, [anchor, positive, *row.neg[:n_negatives]]):
                columns[name].append(value)
    result = HFColumns(columns, len(rows), len(columns["anchor"]), dropped,
                       [f"{n_negatives} negatives per example", f"positives={positives}",
                        f"instruction format={instruction_format if isinstance(instruction_format, str) else fmt}"])
    if not result.examples:
        raise ValueError(f"no examples left: none of {len(rows)} rows has {n_negatives} negatives; lower n_negatives")
    return result


def to_hf_dataset(
    rows: Sequence[TrainingRow],
    n_negatives: int = 1,
    instruction_format: str | InstructionFormat = "plain",
    short: ShortRows = "drop",
    positives: Positives = "first",
) -> datasets.Dataset:
    """A ``datasets.Dataset`` for sentence-transformers (see ``hf_columns``); its ``info.description`` says how
    many rows were dropped, and the count is logged as a warning."""
    datasets = require("datasets", "models", purpose="to_hf_dataset")
    built = hf_columns(rows, n_negatives, instruction_format, short, positives)
    if built.dropped_short:
        logger.warning("dropped %d of %d training rows with fewer than %d negatives",
                       built.dropped_short, built.rows_in, n_negatives)
    dataset = datasets.Dataset.from_dict(built.columns)
    dataset.info.description = built.describe()
    return dataset


def export_hf(rows: Sequence[TrainingRow], folder: str | Path, overwrite: bool = False, **options) -> datasets.Dataset:
    """Save ``to_hf_dataset(rows, **options)`` with ``save_to_disk``; reload with ``datasets.load_from_disk``."""
    dataset = to_hf_dataset(rows, **options)
    with atomic_folder(folder, overwrite=overwrite) as tmp:
        dataset.save_to_disk(str(tmp))
    return dataset
