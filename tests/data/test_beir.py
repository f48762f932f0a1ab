from __future__ import annotations

import json
from pathlib import Path

import pytest

from reasonir.data import DataError, load_beir

from conftest import SCIFACT


def _write(folder: Path, corpus: str, queries: str, qrels: str) -> Path:
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(corpus)
    (folder / "queries.jsonl").write_text(queries)
    (folder / "qrels" / "test.tsv").write_text(qrels)
    return folder


GOOD_CORPUS = json.dumps({"_id": "d1", "text": "a"}) + "\n" + json.dumps({"_id": "d2", "text": "b"}) + "\n"
GOOD_QUERIES = json.dumps({"_id": "q1", "text": "x"}) + "\n"


def test_malformed_json_names_file_and_line(tmp_path):
    ds = _write(tmp_path, GOOD_CORPUS + "{oops\n", GOOD_QUERIES, "q1\td1\t1\n")
    with pytest.raises(DataError, match=r"corpus\.jsonl:3: malformed JSON"):
        load_beir(ds)


def test_missing_field_and_duplicate_id(tmp_path):
    ds = _write(tmp_path / "a", GOOD_CORPUS + json.dumps({"_id": "d3"}) + "\n", GOOD_QUERIES, "q1\td1\t1\n")
    with pytest.raises(DataError, match=r"corpus\.jsonl:3: text: missing field"):
        load_beir(ds)
    ds = _write(tmp_path / "b", GOOD_CORPUS + json.dumps({"_id": "d1", "text": "c"}) + "\n", GOOD_QUERIES, "")
    with pytest.raises(DataError, match=r"corpus\.jsonl:3: _id: duplicate id 'd1'"):
        load_beir(ds)


def test_unknown_qrels_id_and_bad_utf8(tmp_path):
    ds = _write(tmp_path / "a", GOOD_CORPUS, GOOD_QUERIES, "query-id\tcorpus-id\tscore\nq1\tzz\t1\n")
    with pytest.raises(DataError, match=r"test\.tsv:2: corpus-id: unknown document id 'zz'"):
        load_beir(ds)
    ds = _write(tmp_path / "b", GOOD_CORPUS, GOOD_QUERIES, "q1\td1\t1\n")
    (ds / "corpus.jsonl").write_bytes(b'{"_id": "d1", "text": "\xff"}\n')
    with pytest.raises(DataError, match=r"corpus\.jsonl:1: bytes are not UTF-8"):
        load_beir(ds)


def test_empty_corpus(tmp_path):
    with pytest.raises(DataError, match="empty corpus"):
        load_beir(_write(tmp_path, "", GOOD_QUERIES, ""))


@pytest.mark.skipif(not SCIFACT.exists(), reason="needs ../shared/data/scifact")
def test_scifact_loads():
    ds = load_beir(SCIFACT)
    assert len(ds.documents) == 5183 and len(ds.queries) == 300
