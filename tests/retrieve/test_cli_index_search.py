from __future__ import annotations

import json

import pytest

from reasonir.cli import main

DOCS = [
    {"_id": "cat", "title": "Cats", "text": "The feline curled up on the windowsill and purred in the sun."},
    {"_id": "bank", "title": "Rates", "text": "The central bank raised interest rates to slow rising prices."},
    {"_id": "rain", "title": "Floods", "text": "Heavy downpours flooded the streets and the river burst its banks."},
]


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in DOCS), encoding="utf-8")
    return path


@pytest.mark.parametrize("kind,query,top", [("bm25", "interest rates on the river", "bank"), ("dense", "kitty purring", "cat")])
def test_index_then_search_returns_ranked_documents_with_text(corpus, tmp_path, capsys, kind, query, top,
                                                              monkeypatch):
    monkeypatch.setenv("REASONIR_CACHE", str(tmp_path / "cache"))
    out = tmp_path / f"ix-{kind}"
    assert main(["index", str(corpus), "--retriever", kind, "--out", str(out), "--no-progress", "--output", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["documents"] == 3
    assert main(["search", str(out), query, "-k", "2", "--output", "json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert [r["rank"] for r in results] == [1, 2]
    assert results[0]["id"] == top and results[0]["text"] == next(d["text"] for d in DOCS if d["_id"] == top)


def test_index_refuses_to_overwrite_without_flag(corpus, tmp_path, capsys):
    out = tmp_path / "ix"
    assert main(["index", str(corpus), "--out", str(out)]) == 0
    assert main(["index", str(corpus), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["index", str(corpus), "--out", str(out), "--overwrite"]) == 0


def test_a_malformed_corpus_line_is_named(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"_id": "a", "text": "fine"}\n{"_id": "b"}\n', encoding="utf-8")
    assert main(["index", str(bad), "--out", str(tmp_path / "ix")]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl:2" in err and "text" in err


def test_approximate_index_reports_recall_and_searches(corpus, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("REASONIR_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "ix-hnsw"
    assert main(["index", str(corpus), "--retriever", "dense", "--out", str(out), "--no-progress", "--output", "json",
                 "--faiss-factory", "HNSW16", "--ef-search", "16", "--recall-k", "2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["recall"] == {"k": 2, "probes": 3, "probe_source": "documents", "recall": 1.0}
    manifest = json.loads((out / "reasonir-index.json").read_text())
    assert manifest["faiss_factory"] == "HNSW16" and manifest["recall"] == summary["recall"]
    assert manifest["search_params"] == {"ef_search": 16}
    assert main(["search", str(out), "kitty purring", "-k", "1", "--ef-search", "32", "--output", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["id"] == "cat"
    assert main(["index", str(corpus), "--out", str(tmp_path / "ix-text"), "--retriever", "dense", "--no-progress",
                 "--faiss-factory", "HNSW16"]) == 0
    assert "HNSW16 recall@3 vs exact 1.0000 (3 documents as probes)" in capsys.readouterr().out


def test_exact_backend_flag_on_search(corpus, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("REASONIR_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "ix"
    assert main(["index", str(corpus), "--retriever", "dense", "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    found = []
    for backend in ("faiss", "numpy", "torch"):
        assert main(["search", str(out), "kitty purring", "-k", "3", "--exact-backend", backend, "--output", "json"]) == 0
        found.append([(r["id"], round(r["score"], 5)) for r in json.loads(capsys.readouterr().out)["results"]])
    assert found[0] == found[1] == found[2]
