from __future__ import annotations

import gzip
import json

import pytest

from reasonir.data import DataError, Document, iter_corpus, load_beir, load_corpus

from conftest import SCIFACT, needs


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_jsonl_with_either_field_names_and_gzip(tmp_path):
    rows = [{"id": "a", "content": "alpha", "title": "A"}, {"_id": 7, "text": "beta"}]
    (tmp_path / "c.jsonl").write_text(_jsonl(rows))
    expected = [Document("a", "alpha", "A"), Document("7", "beta", "")]
    assert load_corpus(tmp_path / "c.jsonl") == expected
    with gzip.open(tmp_path / "c.jsonl.gz", "wt") as fh:
        fh.write(_jsonl(rows))
    assert load_corpus(tmp_path / "c.jsonl.gz") == expected


def test_iter_corpus_streams_and_checks_as_it_goes(tmp_path):
    rows = [{"_id": "a", "text": "alpha"}, {"_id": "b", "text": "beta"}, {"_id": "a", "text": "again"}]
    (tmp_path / "c.jsonl").write_text(_jsonl(rows))
    documents = iter_corpus(tmp_path / "c.jsonl")
    assert [next(documents), next(documents)] == [Document("a", "alpha"), Document("b", "beta")]
    with pytest.raises(DataError, match=r"c.jsonl:3: _id: duplicate id 'a' \(first at line 1\)"):
        next(documents)
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(DataError, match="empty corpus"):
        list(iter_corpus(tmp_path / "empty.jsonl"))
    with pytest.raises(FileNotFoundError):
        iter_corpus(tmp_path / "missing.jsonl")  # at the call, before the first document


def test_parquet_corpus(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([{"_id": "x", "text": "t", "title": None, "extra": 1}]), tmp_path / "c.parquet")
    assert load_corpus(tmp_path / "c.parquet") == [Document("x", "t", "")]


@needs(SCIFACT)
def test_beir_folder_reads_its_corpus():
    assert load_corpus(SCIFACT) == load_beir(SCIFACT).documents


def test_text_folder_ids_titles_and_hidden_files(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "page.md").write_text("intro\n```\n# code comment\n```\n## Krebs cycle\nbody\n")
    (tmp_path / "plain.txt").write_text("# not a heading in a .txt file\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD.txt").write_text("ignored")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    docs = load_corpus(tmp_path)
    assert [(d.id, d.title) for d in docs] == [("plain", ""), ("sub/page", "Krebs cycle")]
    assert docs[1].text.startswith("intro\n")


def test_text_folder_errors(tmp_path):
    with pytest.raises(DataError, match=r"empty corpus \(no \.txt or \.md files\)"):
        load_corpus(tmp_path)
    (tmp_path / "a.txt").write_text("one")
    (tmp_path / "a.md").write_text("two")
    with pytest.raises(DataError, match=r"a\.txt: id: duplicate id 'a' \(also .*a\.md\)"):
        load_corpus(tmp_path)
    (tmp_path / "a.txt").unlink()
    (tmp_path / "b.md").write_bytes("line one\nlatin-1: caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"b\.md:2: bytes are not UTF-8"):
        load_corpus(tmp_path)


def test_records_errors_name_file_line_and_field(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text("")
    with pytest.raises(DataError, match=r"c\.jsonl: empty corpus"):
        load_corpus(path)
    path.write_text(_jsonl([{"id": "a", "text": "x"}, {"id": "a", "text": "y"}]))
    with pytest.raises(DataError, match=r"c\.jsonl:2: id: duplicate id 'a' \(first at line 1\)"):
        load_corpus(path)
    path.write_text(_jsonl([{"id": "a", "body": "x"}]))
    with pytest.raises(DataError, match=r"c\.jsonl:1: text: missing field \(text or content\)"):
        load_corpus(path)
    path.write_text(_jsonl([{"id": "a", "text": ["x"]}]))
    with pytest.raises(DataError, match=r"c\.jsonl:1: text: expected a string, got list"):
        load_corpus(path)
    path.write_text(_jsonl([{"id": None, "text": "x"}]))
    with pytest.raises(DataError, match=r"c\.jsonl:1: id: expected a non-empty string id, got null"):
        load_corpus(path)
    (tmp_path / "c.csv").write_text("id,text\n")
    with pytest.raises(DataError, match="unsupported file type"):
        load_corpus(tmp_path / "c.csv")
    with pytest.raises(FileNotFoundError, match="no such corpus"):
        load_corpus(tmp_path / "missing.jsonl")
