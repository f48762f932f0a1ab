"""BEIR layout: corpus.jsonl, queries.jsonl, qrels/<split>.tsv (Thakur et al., 2021)."""
from __future__ import annotations

from pathlib import Path

from reasonir.data.errors import DataError
from reasonir.data.fields import as_id, as_text
from reasonir.data.jsonl import read_jsonl, read_lines
from reasonir.data.records import Dataset, Document, Query


def _documents(path: Path) -> list[Document]:
    docs, seen = [], set()
    for n, obj in read_jsonl(path, ("_id", "text")):
        did = as_id(obj["_id"], path, n, "_id")
        if did in seen:
            raise DataError(path, n, "_id", f"duplicate id {did!r}")
        seen.add(did)
        title = as_text(obj.get("title") or "", path, n, "title")
        docs.append(Document(did, as_text(obj["text"], path, n, "text"), title))
    if not docs:
        raise DataError(path, None, None, "empty corpus")
    return docs


def _queries(path: Path) -> list[Query]:
    queries, seen = [], set()
    for n, obj in read_jsonl(path, ("_id", "text")):
        qid = as_id(obj["_id"], path, n, "_id")
        if qid in seen:
            raise DataError(path, n, "_id", f"duplicate id {qid!r}")
        seen.add(qid)
        queries.append(Query(qid, as_text(obj["text"], path, n, "text", empty_ok=False)))
    return queries


def _qrels(path: Path, query_ids: set[str], doc_ids: set[str]) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for lineno, line in read_lines(path):
        parts = line.rstrip("\r\n").split("\t")
        if (lineno == 1 and parts[0] == "query-id") or not line.strip():
            continue
        if len(parts) != 3:
            raise DataError(path, lineno, None, "expected query-id<TAB>corpus-id<TAB>score")
        qid, did, score = parts
        if qid not in query_ids:
            raise DataError(path, lineno, "query-id", f"unknown query id {qid!r}")
        if did not in doc_ids:
            raise DataError(path, lineno, "corpus-id", f"unknown document id {did!r}")
        try:
            qrels.setdefault(qid, {})[did] = int(score)
        except ValueError:
            raise DataError(path, lineno, "score", f"not an integer: {score!r}") from None
    return qrels


def load_beir(folder: str | Path, split: str = "test") -> Dataset:
    """Load a BEIR dataset folder; only queries judged in ``split`` are kept.

    Example:
        >>> ds = load_beir("../shared/data/scifact")  # doctest: +SKIP
    """
    folder = Path(folder)
    docs = _documents(folder / "corpus.jsonl")
    queries = _queries(folder / "queries.jsonl")
    qrels = _qrels(folder / "qrels" / f"{split}.tsv", {q.id for q in queries}, {d.id for d in docs})
    return Dataset(docs, [q for q in queries if q.id in qrels], qrels)
