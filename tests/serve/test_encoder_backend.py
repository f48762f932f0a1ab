"""The server takes the encoder backend from the index manifest, or from ``reasonir serve --encoder-backend``."""
from __future__ import annotations

import pytest

from reasonir.data import Document
from reasonir.retrieve.dense import DenseRetriever
from reasonir.serve.service import SearchService

pytest.importorskip("onnxruntime", reason="the ONNX backends need pip install 'reasonir[onnx]'")


def test_service_uses_the_saved_backend_unless_told_otherwise(tmp_path, monkeypatch):
    monkeypatch.setenv("REASONIR_CACHE", str(tmp_path / "cache"))
    docs = [Document("cat", "The feline purred in the sun."), Document("bank", "The bank raised rates.")]
    DenseRetriever(show_progress=False, encoder_backend="onnx").index(docs).save(tmp_path / "ix")
    assert SearchService.from_index(tmp_path / "ix").retriever.encoder_backend == "onnx"
    service = SearchService.from_index(tmp_path / "ix", encoder_backend="onnx-int8")
    assert service.retriever.encoder_backend == "onnx-int8"
    assert type(service.retriever.model[0].model).__name__ == "OnnxTransformer"  # warm_up loaded it
