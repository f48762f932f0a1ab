"""BRIGHT (Su et al., 2024) from a local folder: ``examples/<task>.jsonl[.gz]`` and optional
``documents/<task>.jsonl[.gz]`` (id, content). "N/A" in ``excluded_ids``/``gold_ids_long`` means none."""
from __future__ import annotations

from pathlib import Path

from reasonir.data.jsonl import read_jsonl
from reasonir.data.records import Dataset, Document, Query

BRIGHT_TASKS = (
    "biology", "earth_science", "economics", "psychology", "robotics", "stackoverflow",
    "sustainable_living", "leetcode", "pony", "aops", "theoremqa_questions", "theoremqa_theorems",
)


def _find(folder: Path, sub: str, task: str) -> Path:
    for name in (f"{task}.jsonl.gz", f"{task}.jsonl"):
        if (folder / sub / name).exists():
            return folder / sub / name
    raise FileNotFoundError(folder / sub / f"{task}.jsonl[.gz]")


def _rows(path: Path, required: tuple[str, ...]):
    return (obj for _, obj in read_jsonl(path, required))


def _ids(values: list[str]) -> tuple[str, ...]:
    return tuple(str(v) for v in values if v != "N/A")


def load_bright(folder: str | Path, task: str, long_documents: bool = False) -> Dataset:
    """Load one BRIGHT task; qrels are ``gold_ids`` (or ``gold_ids_long``), each at grade 1."""
    if task not in BRIGHT_TASKS:
        raise ValueError(f"unknown BRIGHT task {task!r}; expected one of {', '.join(BRIGHT_TASKS)}")
    folder = Path(folder)
    path = _find(folder, "examples", task)
    gold_field = "gold_ids_long" if long_documents else "gold_ids"
    queries, qrels = [], {}
    for obj in _rows(path, ("id", "query", gold_field, "excluded_ids")):
        qid = str(obj["id"])
        queries.append(Query(qid, obj["query"], _ids(obj["excluded_ids"])))
        qrels[qid] = {d: 1 for d in _ids(obj[gold_field])}
    documents: list[Document] = []
    sub = "long_documents" if long_documents else "documents"
    if (folder / sub).exists():
        dpath = _find(folder, sub, task)
        documents = [Document(str(o["id"]), o["content"]) for o in _rows(dpath, ("id", "content"))]
    return Dataset(documents, queries, qrels)
