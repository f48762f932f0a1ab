"""One way to name a dataset, shared by the CLI and the API: ``load_dataset(spec)``.

Specs:
    ``PATH``                          a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)
    ``bright:TASK``                   BRIGHT from the folder in $REASONIR_BRIGHT_DIR, else from the hub
    ``bright:TASK@FOLDER``            BRIGHT from a local folder (parquet or JSONL, see ``reasonir.data.bright``)
    ``bright:TASK@hub``               BRIGHT from the hub at the pinned ``BRIGHT_REVISION``
    ``bright-long:TASK[@...]``        the same with BRIGHT's long documents and ``gold_ids_long``

Example:
    >>> parse_spec("bright:biology@/data/bright")
    DatasetSpec(kind='bright', location='/data/bright', task='biology', long_documents=False)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from reasonir.data.beir import load_beir
from reasonir.data.bright import HUB, check_task, load_bright
from reasonir.data.errors import DataError
from reasonir.data.records import Dataset

BRIGHT_DIR_ENV = "REASONIR_BRIGHT_DIR"
_PREFIXES = {"bright:": False, "bright-long:": True}


@dataclass(frozen=True)
class DatasetSpec:
    kind: Literal["beir", "bright"]
    location: str  # a folder, or "hub"
    task: str | None = None
    long_documents: bool = False


def parse_spec(spec: str) -> DatasetSpec:
    """Split a dataset spec into its parts; BRIGHT's location defaults to $REASONIR_BRIGHT_DIR, then the hub."""
    for prefix, long_documents in _PREFIXES.items():
        if spec.startswith(prefix):
            task, _, location = spec[len(prefix):].partition("@")
            check_task(spec, task, long_documents)
            location = location or os.environ.get(BRIGHT_DIR_ENV) or HUB
            return DatasetSpec("bright", location, task, long_documents)
    return DatasetSpec("beir", spec)


def load_dataset(spec: str, split: str = "test") -> Dataset:
    """Load the dataset a spec names; ``split`` picks the BEIR qrels file (BRIGHT has only its test split)."""
    parsed = parse_spec(spec)
    if parsed.kind == "bright":
        if split != "test":
            raise DataError(spec, None, "split", f"BRIGHT has only a test split, not {split!r}")
        return load_bright(parsed.location, parsed.task, long_documents=parsed.long_documents)
    folder = Path(parsed.location)
    if not (folder / "corpus.jsonl").is_file():
        raise FileNotFoundError(
            f"{spec}: not a BEIR folder (no corpus.jsonl) and not bright:TASK[@FOLDER]; "
            "see `reasonir.data.spec` for the accepted forms"
        )
    if not (folder / "qrels" / f"{split}.tsv").is_file():
        raise FileNotFoundError(f"{folder / 'qrels' / f'{split}.tsv'}: no qrels for split {split!r}")
    return load_beir(folder, split=split)
