from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from reasonir.data import BRIGHT_REVISION, BRIGHT_TASKS, DataError, SourceUnavailableError, load_bright
from reasonir.retrieve import BM25Retriever

from conftest import BRIGHT_EXAMPLES as BRIGHT
pytestmark = pytest.mark.skipif(not BRIGHT.exists(), reason="needs ../shared/data/bright_examples")


def _examples(task: str) -> list[dict]:
    with gzip.open(BRIGHT / "examples" / f"{task}.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _write_parquet(path: Path, rows: list[dict]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def _gold_corpus(rows: list[dict], field: str = "gold_ids") -> list[dict]:
    ids = dict.fromkeys(d for r in rows for d in r[field] if d != "N/A")
    return [{"id": d, "content": f"document {d}"} for d in ids]


@pytest.mark.parametrize("task", BRIGHT_TASKS)
def test_all_tasks_load_and_qrels_equal_trec_qrels(task):
    ds = load_bright(BRIGHT, task)
    trec: dict[str, set[str]] = {}
    for line in (BRIGHT / "qrels" / f"{task}.trec.txt").read_text().splitlines():
        qid, _, did, _ = line.split("\t")
        trec.setdefault(qid, set()).add(did)
    assert ds.queries and {q: set(d) for q, d in ds.qrels.items() if d} == trec


def test_excluded_ids_are_removed_from_the_run(tmp_path):
    q = next(r for r in _examples("leetcode") if r["excluded_ids"] != ["N/A"])
    folder = tmp_path / "bright"
    (folder / "examples").mkdir(parents=True)
    (folder / "examples" / "leetcode.jsonl").write_text(json.dumps(q) + "\n")
    (folder / "documents").mkdir()
    # excluded documents and one other repeat the query (BM25's best matches); gold ones share no words with it
    docs = [{"id": d, "content": q["query"]} for d in q["excluded_ids"][:3]] + [{"id": "other", "content": q["query"]}]
    docs += [{"id": d, "content": "zzz"} for d in q["gold_ids"]]
    with gzip.open(folder / "documents" / "leetcode.jsonl.gz", "wt") as fh:
        fh.write("\n".join(json.dumps(d) for d in docs))
    ds = load_bright(folder, "leetcode")
    assert ds.queries[0].excluded_ids == tuple(q["excluded_ids"])
    run = BM25Retriever().index(ds.documents).search(ds.queries, k=10)
    assert list(run[q["id"]]) == ["other"]


def test_hub_parquet_layout_equals_jsonl(tmp_path):
    """The hub's <config>/<task>-NNNNN-of-NNNNN.parquet shards, written from the real biology queries."""
    rows = _examples("biology")
    half = len(rows) // 2
    _write_parquet(tmp_path / "examples" / "biology-00000-of-00002.parquet", rows[:half])
    _write_parquet(tmp_path / "examples" / "biology-00001-of-00002.parquet", rows[half:])
    _write_parquet(tmp_path / "documents" / "biology-00000-of-00001.parquet", _gold_corpus(rows))
    from_parquet, from_jsonl = load_bright(tmp_path, "biology"), load_bright(BRIGHT, "biology")
    assert from_parquet.queries == from_jsonl.queries and from_parquet.qrels == from_jsonl.qrels
    assert len(from_parquet.documents) == len({d for r in rows for d in r["gold_ids"]})


def test_long_documents_use_gold_ids_long(tmp_path):
    rows = _examples("pony")
    _write_parquet(tmp_path / "examples" / "pony-00000-of-00001.parquet", rows)
    _write_parquet(tmp_path / "long_documents" / "pony-00000-of-00001.parquet", _gold_corpus(rows, "gold_ids_long"))
    ds = load_bright(tmp_path, "pony", long_documents=True)
    assert ds.qrels == {r["id"]: {d: 1 for d in r["gold_ids_long"] if d != "N/A"} for r in rows}
    with pytest.raises(DataError, match="task: BRIGHT has long documents only for"):
        load_bright(tmp_path, "leetcode", long_documents=True)


def test_parquet_errors_name_file_row_and_field(tmp_path):
    rows = _examples("economics")[:5]
    bad = [dict(r) for r in rows]
    bad[3]["query"] = None
    path = tmp_path / "examples" / "economics-00000-of-00001.parquet"
    _write_parquet(path, bad)
    with pytest.raises(DataError, match=r"economics-00000-of-00001\.parquet:4: query: missing value"):
        load_bright(tmp_path, "economics")
    _write_parquet(path, [{k: v for k, v in r.items() if k != "excluded_ids"} for r in rows])
    with pytest.raises(DataError, match=r"\.parquet: excluded_ids: missing column"):
        load_bright(tmp_path, "economics")
    _write_parquet(path, [{**r, "gold_ids": "not a list"} for r in rows])
    with pytest.raises(DataError, match=r"\.parquet:1: gold_ids: expected a list of ids, got str"):
        load_bright(tmp_path, "economics")
    path.write_bytes(b"PAR1 truncated")
    with pytest.raises(DataError, match=r"\.parquet: not a readable parquet file"):
        load_bright(tmp_path, "economics")


def test_duplicate_query_and_document_ids_are_located(tmp_path):
    rows = _examples("robotics")[:4]
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "robotics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows + rows[1:2]))
    with pytest.raises(DataError, match=r"robotics\.jsonl:5: id: duplicate query id .* \(first at .*\.jsonl:2\)"):
        load_bright(tmp_path, "robotics")
    (tmp_path / "examples" / "robotics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    docs = _gold_corpus(rows)
    _write_parquet(tmp_path / "documents" / "robotics-00000-of-00001.parquet", docs + docs[:1])
    with pytest.raises(DataError, match=rf"\.parquet:{len(docs) + 1}: id: duplicate document id"):
        load_bright(tmp_path, "robotics")


def test_gold_ids_must_name_a_loaded_document(tmp_path):
    rows = _examples("psychology")[:3]
    _write_parquet(tmp_path / "examples" / "psychology-00000-of-00001.parquet", rows)
    _write_parquet(tmp_path / "documents" / "psychology-00000-of-00001.parquet", _gold_corpus(rows)[1:])
    missing = rows[0]["gold_ids"][0]
    with pytest.raises(DataError, match=rf"\.parquet:1: gold_ids: unknown document id '{missing}'"):
        load_bright(tmp_path, "psychology")


def test_missing_files_and_unknown_task(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a BRIGHT folder"):
        load_bright(tmp_path, "biology")
    (tmp_path / "examples").mkdir()
    with pytest.raises(FileNotFoundError, match=r"biology-\*\.parquet"):
        load_bright(tmp_path, "biology")
    with pytest.raises(DataError, match="task: unknown BRIGHT task"):
        load_bright(tmp_path, "chemistry")


def test_hub_unreachable_is_one_clear_line(monkeypatch, tmp_path):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)  # fail at once instead of retrying DNS for 25 s
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path)  # a cached copy would load offline
    with pytest.raises(SourceUnavailableError) as info:
        load_bright("hub", "biology")
    message = str(info.value)
    assert "\n" not in message and BRIGHT_REVISION[:8] in message and "bright:biology@FOLDER" in message
    assert info.value.exit_code == 3


@pytest.mark.slow
def test_hub_unreachable_without_offline_mode():
    """The real failure on a machine without the hub: datasets retries, then one line comes back."""
    pytest.importorskip("datasets")
    with pytest.raises(SourceUnavailableError, match="cannot load hf://datasets/xlangai/BRIGHT"):
        load_bright("hub", "biology")
