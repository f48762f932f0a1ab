"""``auto`` through DenseRetriever and the CLI: the resolved backend keys the embedding cache and is kept, with its
reason, in the index manifest; a model object (a model in training) runs as it was loaded."""
from __future__ import annotations

import json

import pytest
import torch

from reasonir.cli import main
from reasonir.data import Document
from reasonir.models import DEFAULT_ENCODER_BACKEND, load_encoder
from reasonir.retrieve import load_index
from reasonir.retrieve.dense import DenseRetriever
from reasonir.retrieve.store import read_manifest

DOCS = [
    Document("cat", "The feline curled up on the windowsill and purred in the sun.", "Cats"),
    Document("bank", "The central bank raised interest rates to slow rising prices.", "Rates"),
    Document("rain", "Heavy downpours flooded the streets and the river burst its banks.", "Floods"),
]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_auto_is_the_default_and_shares_cached_vectors_with_the_backend_it_chose(tmp_path):
    assert DEFAULT_ENCODER_BACKEND == "auto"
    chosen = DenseRetriever(cache_dir=tmp_path, show_progress=False).index(DOCS)
    assert chosen.requested_backend == "auto" and chosen.encode_calls == 1
    explicit = DenseRetriever(cache_dir=tmp_path, show_progress=False, encoder_backend=chosen.encoder_backend)
    assert explicit._cache_key(DOCS) == chosen._cache_key(DOCS)
    assert explicit.index(DOCS).encode_calls == 0  # the vectors auto's choice encoded, reused


def test_the_index_manifest_keeps_the_choice_and_search_chooses_again(tmp_path, capsys):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"_id": d.id, "title": d.title, "text": d.text}) + "\n" for d in DOCS),
                      encoding="utf-8")
    out = tmp_path / "ix"
    assert main(["index", str(corpus), "--retriever", "dense", "--out", str(out), "--no-progress", "--no-cache",
                 "--output", "json"]) == 0
    manifest = read_manifest(out)
    choice = manifest["encoder_backend_choice"]
    assert choice["requested"] == "auto" and choice["backend"] == manifest["encoder_backend"] and choice["reason"]
    loaded = load_index(out, show_progress=False)
    assert loaded.requested_backend == "auto" and loaded.encoder_backend == manifest["encoder_backend"]
    assert load_index(out, show_progress=False, encoder_backend="torch").encoder_backend == "torch"
    capsys.readouterr()
    assert main(["search", str(out), "kitty purring", "-k", "1", "--output", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["id"] == "cat"


def test_an_older_manifest_naming_a_backend_keeps_it(tmp_path):
    DenseRetriever(show_progress=False, use_cache=False, encoder_backend="torch").index(DOCS).save(tmp_path / "ix")
    manifest = read_manifest(tmp_path / "ix")
    assert manifest["encoder_backend_choice"] == {"requested": "torch", "backend": "torch", "reason": "asked for",
                                                  "cached": False}
    assert load_index(tmp_path / "ix", show_progress=False).requested_backend == "torch"


def test_a_model_object_runs_as_loaded_and_keeps_its_fp32_weights():
    """What auto means for training: the trainer's model (evaluated during training, scored for held-out
    signals) is passed as an object; auto leaves it exactly as it is."""
    model = load_encoder(backend="torch")
    retriever = DenseRetriever(model, use_cache=False, show_progress=False).index(DOCS)
    assert retriever.encoder_backend == "torch" and "as it was loaded" in retriever.backend_choice.reason
    assert retriever.model is model and {p.dtype for p in model.parameters()} == {torch.float32}
    with pytest.raises(ValueError, match="load_encoder"):
        DenseRetriever(model, encoder_backend="torch-bf16")
