"""Encoding backends on the packaged all-MiniLM-L6-v2: agreement with fp32 torch, the export cache, cache keys."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from reasonir.models import load_encoder
from reasonir.hardware import bf16_supported
from reasonir.models.backends import effective_backend, export_folder
from reasonir.optional import MissingOptionalDependency

TEXTS = ["a cat sat on the mat", "stock markets fell sharply after the announcement",
         "Mitochondria produce ATP through oxidative phosphorylation in eukaryotic cells. " * 6,
         "what causes the sky to be blue"]
MIN_COSINE = {"onnx": 0.9999, "onnx-int8": 0.99, "torch-bf16": 0.99}


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("REASONIR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return load_encoder().encode(TEXTS, normalize_embeddings=True)


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_onnx_backends_agree_with_fp32_torch_and_reuse_their_export(backend, reference, tmp_path):
    pytest.importorskip("onnxruntime", reason="pip install 'reasonir[onnx]'")
    model = load_encoder(backend=backend)
    onnx_model = model[0].model
    assert type(onnx_model).__name__ == "OnnxTransformer" and onnx_model.exported_now
    vectors = model.encode(TEXTS, normalize_embeddings=True, batch_size=2)
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() > MIN_COSINE[backend], cosines
    assert onnx_model.path.parent.parent.parent == tmp_path / "cache" / "encoders"

    stamp = onnx_model.path.stat().st_mtime_ns
    again = load_encoder(backend=backend)[0].model
    assert not again.exported_now and again.path == onnx_model.path and again.path.stat().st_mtime_ns == stamp
    assert not list(onnx_model.path.parent.parent.glob(".*")), "no temporary export folder left behind"


def test_bf16_runs_where_the_cpu_has_it_and_falls_back_clearly_elsewhere(reference, caplog):
    if not bf16_supported():
        with caplog.at_level(logging.WARNING, logger="reasonir.models.backends"):
            assert effective_backend("torch-bf16") == "torch"
        # the warning is given once per process; an earlier call may have given it already
        assert effective_backend("torch-bf16") == "torch"
        return
    vectors = load_encoder(backend="torch-bf16").encode(TEXTS, normalize_embeddings=True)
    assert (vectors.astype(np.float32) * reference).sum(axis=1).min() > MIN_COSINE["torch-bf16"]


def test_unknown_backend_fails_before_loading():
    with pytest.raises(ValueError, match="unknown encoder backend 'fp8'"):
        load_encoder(backend="fp8")  # type: ignore[arg-type]


def test_export_folders_differ_per_model_and_backend(tmp_path):
    a = export_folder("sentence-transformers/all-MiniLM-L6-v2", "onnx", tmp_path)
    assert a.name == "onnx" and a.parent.name.startswith("all-MiniLM-L6-v2-")
    assert a != export_folder("sentence-transformers/all-MiniLM-L6-v2", "onnx-int8", tmp_path)
    assert a.parent != export_folder("/models/mine@0123", "onnx", tmp_path).parent


def test_missing_onnxruntime_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail as if not installed
    with pytest.raises(MissingOptionalDependency, match=r"pip install 'reasonir\[onnx\]'"):
        load_encoder(backend="onnx")
