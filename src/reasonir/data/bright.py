"""BRIGHT (Su et al., 2024) as published on the Hugging Face hub (``xlangai/BRIGHT``), from a local folder or the hub.

Three configs, one split per task: ``examples`` (id, query, gold_ids, gold_ids_long, excluded_ids; ["N/A"] means
none), ``documents`` and ``long_documents`` (id, content). A local folder mirrors the hub, each config a
sub-folder holding either the hub's parquet shards or JSONL::

    FOLDER/examples/biology-00000-of-00001.parquet   (hub layout)   or   FOLDER/examples/biology.jsonl[.gz]
    FOLDER/documents/biology-00000-of-00001.parquet                 or   FOLDER/documents/biology.jsonl[.gz]

Qrels are ``gold_ids`` (``gold_ids_long`` with long documents), each at grade 1, as BRIGHT's evaluation uses them;
``excluded_ids`` travel with each query so retrievers drop them from its run. Without a documents sub-folder only
queries and qrels are loaded. Query ids and document ids must be unique; when documents are loaded every gold id
must name one of them.

Example:
    >>> ds = load_bright("../shared/data/bright_examples", "biology")  # doctest: +SKIP
    >>> len(ds.queries), ds.documents  # doctest: +SKIP
    (103, [])
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from reasonir.data.errors import DataError, SourceUnavailableError
from reasonir.data.fields import as_id, as_id_list, as_text
from reasonir.data.records import Dataset, Document, Query
from reasonir.data.tables import read_table
from reasonir.optional import require

BRIGHT_REPO = "xlangai/BRIGHT"
# Pinned hub revision: the commit MTEB's BRIGHT tasks pin, so "hub" means the same bytes on every machine.
BRIGHT_REVISION = "3066d29c9651a576c8aba4832d249807b181ecae"
BRIGHT_TASKS = (
    "biology", "earth_science", "economics", "psychology", "robotics", "stackoverflow",
    "sustainable_living", "leetcode", "pony", "aops", "theoremqa_questions", "theoremqa_theorems",
)
# Tasks with a long_documents split (BRIGHT paper, Table 1: StackExchange and Pony).
BRIGHT_LONG_TASKS = BRIGHT_TASKS[:7] + ("pony",)
HUB = "hub"

Row = tuple[str, int, dict]  # (where: file or hub split, line or row, object)


def check_task(where: str | Path, task: str, long_documents: bool = False) -> None:
    """A DataError (bad input, CLI exit 2) for a task BRIGHT does not have, or has no long documents for."""
    if task not in BRIGHT_TASKS:
        raise DataError(where, None, "task", f"unknown BRIGHT task {task!r}; expected one of {', '.join(BRIGHT_TASKS)}")
    if long_documents and task not in BRIGHT_LONG_TASKS:
        raise DataError(where, None, "task", f"BRIGHT has long documents only for {', '.join(BRIGHT_LONG_TASKS)}")


def local_files(folder: Path, config: str, task: str) -> list[Path]:
    """The files of one config/task in a local folder: JSONL first, else the parquet shards in name order."""
    sub = folder / config
    for name in (f"{task}.jsonl.gz", f"{task}.jsonl"):
        if (sub / name).is_file():
            return [sub / name]
    shards = sorted(sub.glob(f"{task}-*.parquet")) or [p for p in (sub / f"{task}.parquet",) if p.is_file()]
    if not shards:
        raise FileNotFoundError(f"{sub}: no {task}.jsonl[.gz], {task}.parquet or {task}-*.parquet")
    return shards


def _local_rows(folder: Path, config: str, task: str, required: tuple[str, ...]) -> Iterator[Row]:
    for path in local_files(folder, config, task):
        for line, obj in read_table(path, required, wanted=required):
            yield str(path), line, obj


def _hub_rows(config: str, task: str, revision: str) -> Iterator[Row]:
    datasets = require("datasets", "models", purpose="loading BRIGHT from the hub")
    where = f"hf://datasets/{BRIGHT_REPO}@{revision[:8]}/{config}/{task}"
    try:
        split = datasets.load_dataset(BRIGHT_REPO, config, split=task, revision=revision)
    except (OSError, ValueError) as exc:  # ConnectionError, offline mode, missing revision: all OSError/ValueError
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SourceUnavailableError(
            f"cannot load {where} from the Hugging Face hub ({reason}); download the BRIGHT parquet files where the "
            f"hub is reachable and pass their folder: bright:{task}@FOLDER or REASONIR_BRIGHT_DIR=FOLDER"
        ) from None
    return ((where, row, obj) for row, obj in enumerate(split, start=1))


def load_bright(
    source: str | Path, task: str, long_documents: bool = False, revision: str = BRIGHT_REVISION
) -> Dataset:
    """Load one BRIGHT task from a local folder (parquet or JSONL) or, with ``source="hub"``, from the hub.

    ``long_documents`` switches to the ``long_documents`` corpus and ``gold_ids_long`` (the tasks in
    ``BRIGHT_LONG_TASKS`` only). ``revision`` is used for the hub only.
    """
    check_task(source, task, long_documents)
    gold_field = "gold_ids_long" if long_documents else "gold_ids"
    doc_config = "long_documents" if long_documents else "documents"
    example_fields, doc_fields = ("id", "query", gold_field, "excluded_ids"), ("id", "content")
    if str(source) == HUB:
        example_rows, doc_rows = _hub_rows("examples", task, revision), _hub_rows(doc_config, task, revision)
    else:
        folder = Path(source)
        if not (folder / "examples").is_dir():
            raise FileNotFoundError(f"{folder}: not a BRIGHT folder (no examples/ sub-folder)")
        example_rows = _local_rows(folder, "examples", task, example_fields)
        doc_rows = _local_rows(folder, doc_config, task, doc_fields) if (folder / doc_config).is_dir() else None
    queries, qrels, where_of = _read_examples(example_rows, gold_field)
    documents = _read_documents(doc_rows) if doc_rows is not None else []
    if documents:
        known = {d.id for d in documents}
        for qid, judged in qrels.items():
            for did in judged:
                if did not in known:
                    raise DataError(*where_of[qid], gold_field, f"unknown document id {did!r}")
    return Dataset(documents, queries, qrels)


def _read_examples(rows: Iterator[Row], gold_field: str):
    queries: list[Query] = []
    qrels: dict[str, dict[str, int]] = {}
    where_of: dict[str, tuple[str, int]] = {}
    for where, line, obj in rows:
        qid = as_id(obj["id"], where, line, "id")
        if qid in where_of:
            first = ":".join(map(str, where_of[qid]))
            raise DataError(where, line, "id", f"duplicate query id {qid!r} (first at {first})")
        where_of[qid] = (where, line)
        text = as_text(obj["query"], where, line, "query", empty_ok=False)
        queries.append(Query(qid, text, as_id_list(obj["excluded_ids"], where, line, "excluded_ids")))
        qrels[qid] = dict.fromkeys(as_id_list(obj[gold_field], where, line, gold_field), 1)
    return queries, qrels, where_of


def _read_documents(rows: Iterator[Row]) -> list[Document]:
    documents: list[Document] = []
    first_at: dict[str, tuple[str, int]] = {}
    for where, line, obj in rows:
        did = as_id(obj["id"], where, line, "id")
        if did in first_at:
            first = ":".join(map(str, first_at[did]))
            raise DataError(where, line, "id", f"duplicate document id {did!r} (first at {first})")
        first_at[did] = (where, line)
        documents.append(Document(did, as_text(obj["content"], where, line, "content")))
    return documents
