"""BRIGHT (Su et al., 2024) from a local folder: ``examples/<task>.jsonl[.gz]`` and optional
``documents/<task>.jsonl[.gz]`` (id, content). "N/A" in ``excluded_ids``/``gold_ids_long`` means none."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

from reasonir.data.errors import DataError
from reasonir.data.records import Dataset, Document, Query

BRIGHT_TASKS = (
    "biology", "earth_science", "economics", "psychology", "robotics", "stackoverflow",
    "sustainable_living", "leetcode", "pony", "aops", "theoremqa_questions", "theoremqa_theorems",
)


def _open(folder: Path, sub: str, task: str) -> tuple[Path, list[str]]:
    for name in (f"{task}.jsonl.gz", f"{task}.jsonl"):
        path = folder / sub / name
        if path.exists():
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as fh:
                return path, fh.readlines()
    raise FileNotFoundError(folder / sub / f"{task}.jsonl[.gz]")


def _rows(path: Path, lines: list[str], required: tuple[str, ...]):
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(path, lineno, None, f"malformed JSON ({exc.msg})") from None
        for name in required:
            if name not in obj:
                raise DataError(path, lineno, name, "missing field")
        yield obj


def _ids(values: list[str]) -> tuple[str, ...]:
    return tuple(str(v) for v in values if v != "N/A")


def load_bright(folder: str | Path, task: str, long_documents: bool = False) -> Dataset:
    """Load one BRIGHT task; qrels are ``gold_ids`` (or ``gold_ids_long``), each at grade 1."""
    if task not in BRIGHT_TASKS:
        raise ValueError(f"unknown BRIGHT task {task!r}; expected one of {', '.join(BRIGHT_TASKS)}")
    folder = Path(folder)
    path, lines = _open(folder, "examples", task)
    gold_field = "gold_ids_long" if long_documents else "gold_ids"
    queries, qrels = [], {}
    for obj in _rows(path, lines, ("id", "query", gold_field, "excluded_ids")):
        qid = str(obj["id"])
        queries.append(Query(qid, obj["query"], _ids(obj["excluded_ids"])))
        qrels[qid] = {d: 1 for d in _ids(obj[gold_field])}
    documents: list[Document] = []
    sub = "long_documents" if long_documents else "documents"
    if (folder / sub).exists():
        dpath, dlines = _open(folder, sub, task)
        documents = [Document(str(o["id"]), o["content"]) for o in _rows(dpath, dlines, ("id", "content"))]
    return Dataset(documents, queries, qrels)
