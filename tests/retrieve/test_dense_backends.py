"""Encoder backends through DenseRetriever and the CLI: separate cache entries, the backend saved with the index."""
from __future__ import annotations

import json

import pytest

from reasonir.cli import main
from reasonir.data import Document
from reasonir.retrieve.dense import DenseRetriever
from reasonir.retrieve.store import read_manifest

pytest.importorskip("onnxruntime", reason="the ONNX backends need pip install 'reasonir[onnx]'")

DOCS = [
    {"_id": "cat", "title": "Cats", "text": "The feline curled up on the windowsill and purred in the sun."},
    {"_id": "bank", "title": "Rates", "text": "The central bank raised interest rates to slow rising prices."},
    {"_id": "rain", "title": "Floods", "text": "Heavy downpours flooded the streets and the river burst its banks."},
]


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("REASONIR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_each_backend_has_its_own_embedding_cache_entry(tmp_path):
    docs = [Document(d["_id"], d["text"], d["title"]) for d in DOCS]
    fp32 = DenseRetriever(show_progress=False).index(docs)
    int8 = DenseRetriever(show_progress=False, encoder_backend="onnx-int8").index(docs)
    assert fp32._cache_key(docs) != int8._cache_key(docs)
    assert int8.encode_calls == 1  # the fp32 vectors in the cache were not taken for int8 ones
    again = DenseRetriever(show_progress=False, encoder_backend="onnx-int8").index(docs)
    assert again.encode_calls == 0  # but int8 vectors are reused by the int8 backend
    assert len(list((tmp_path / "cache" / "embeddings").rglob("*.npy"))) == 2


def test_a_loaded_model_object_refuses_a_backend():
    from reasonir.models import load_encoder

    with pytest.raises(ValueError, match="load_encoder"):
        DenseRetriever(load_encoder(), encoder_backend="onnx")


def test_index_saves_the_backend_and_search_uses_it(tmp_path, capsys):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(d) + "\n" for d in DOCS), encoding="utf-8")
    out = tmp_path / "ix"
    assert main(["index", str(corpus), "--retriever", "dense", "--encoder-backend", "onnx-int8", "--out", str(out),
                 "--no-progress", "--output", "json"]) == 0
    capsys.readouterr()
    assert read_manifest(out)["encoder_backend"] == "onnx-int8"
    from reasonir.retrieve import load_index

    assert load_index(out, show_progress=False).encoder_backend == "onnx-int8"
    assert load_index(out, show_progress=False, encoder_backend="torch").encoder_backend == "torch"
    assert main(["search", str(out), "kitty purring", "-k", "1", "--encoder-backend", "onnx", "--output", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["id"] == "cat"
