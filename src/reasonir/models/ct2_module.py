"""The CTranslate2 stand-in for a Hugging Face encoder inside sentence-transformers (see :mod:`.backends`).

Why CTranslate2: its ``Encoder`` runs BERT-like models with its own fused kernels (packed GEMMs through oneDNN or
MKL, fused attention and layer norms, one process-wide thread pool) and quantizes weights at load time, so one
conversion serves fp32 (``ct2``) and int8 (``ct2-int8``). Measured on a 2-core AVX2 EPYC, it was faster than torch
mostly on short texts, where torch's per-op overhead weighs most (``benchmarks/results/encoding_backends_avx2.json``).

Only the transformer is replaced, as for ONNX: the tokenizer, pooling and normalization stay sentence-transformers'
own, so ``encode`` keeps every option. The conversion (``TransformersConverter``) reads the Hugging Face model
saved from the loaded one, so it works for a hub name and for a folder alike.

Example:
    >>> from reasonir.models import load_encoder
    >>> type(load_encoder(backend="ct2")[0].model).__name__  # doctest: +SKIP
    'Ct2Transformer'
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reasonir.optional import require

# backend name -> CTranslate2 compute type; "int8" on a CPU: int8 matrix products, the rest in fp32
COMPUTE_TYPES = {"ct2": "float32", "ct2-int8": "int8"}
MODEL_FILE = "model.bin"


def import_ctranslate2(purpose: str = "the ct2 encoder backends") -> Any:
    """``ctranslate2``, or an error that says how to install it."""
    return require("ctranslate2", "ct2", purpose=purpose)


def ct2_version() -> str:
    """The installed CTranslate2 version: conversions are kept per version, as its model format may change."""
    return str(import_ctranslate2().__version__)


def ensure_converted(transformer: Any, folder: Path) -> tuple[Path, bool]:
    """``folder`` holding the CTranslate2 conversion (fp32 weights) of the sentence-transformers ``Transformer``
    module ``transformer``, converted unless already there; the bool says whether it was made now. Built aside and
    renamed, so an interrupted conversion leaves nothing half-written."""
    if (folder / MODEL_FILE).is_file():
        return folder, False
    ct2 = import_ctranslate2()
    from ctranslate2.converters import TransformersConverter

    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".ct2-", dir=folder.parent))
    try:
        hf_dir, out = work / "hf", work / "ct2"
        # The loaded weights, saved in Hugging Face's layout: the converter reads a model folder, and the model may
        # have come from the hub cache, a packaged folder or a training run
        transformer.model.save_pretrained(str(hf_dir))
        transformer.tokenizer.save_pretrained(str(hf_dir))
        TransformersConverter(str(hf_dir)).convert(str(out), quantization=None, force=True)
        (out / "export.json").write_text(json.dumps({"ctranslate2": ct2.__version__, "weights": "float32"}, indent=1),
                                         encoding="utf-8")
        try:
            os.rename(out, folder)
        except OSError:
            if not (folder / MODEL_FILE).is_file():  # not a concurrent conversion that finished first
                raise
        return folder, True
    finally:
        shutil.rmtree(work, ignore_errors=True)


class Ct2Transformer(torch.nn.Module):
    """Stands in for the Hugging Face model inside sentence-transformers' ``Transformer`` module: takes the
    tokenizer's tensors, runs ``ctranslate2.Encoder``, returns ``{"last_hidden_state": tensor}``."""

    def __init__(self, path: str | Path, config: Any, *, compute_type: str = "float32") -> None:
        super().__init__()
        ct2 = import_ctranslate2()
        # torch's thread setting (``reasonir serve --threads``, torch.set_num_threads, the auto probe's one thread)
        # governs this backend too
        self.encoder = ct2.Encoder(str(path), device="cpu", compute_type=compute_type,
                                   intra_threads=torch.get_num_threads())
        self._ct2 = ct2
        self.config, self.path, self.compute_type = config, Path(path), compute_type
        self.exported_now = False
        self.register_buffer("_device_marker", torch.empty(0), persistent=False)  # .device for sentence-transformers

    def forward(self, input_ids: Any = None, attention_mask: Any = None, token_type_ids: Any = None,
                **_: Any) -> dict[str, Any]:
        ids = input_ids.cpu().numpy().astype(np.int32, copy=False)
        if attention_mask is None:
            lengths = np.full(ids.shape[0], ids.shape[1], dtype=np.int32)
        else:
            lengths = attention_mask.cpu().numpy().sum(axis=1).astype(np.int32)
        # Token types only when some are not 0 (a second segment): CTranslate2 takes 0 for all when given none
        types = None
        if token_type_ids is not None and bool(token_type_ids.any()):
            types = token_type_ids.cpu().tolist()
        storage = self._ct2.StorageView
        out = self.encoder.forward_batch(storage.from_array(np.ascontiguousarray(ids)),
                                         storage.from_array(lengths), token_type_ids=types)
        # A copy: the array would otherwise view memory the output object owns
        hidden = np.array(out.last_hidden_state, dtype=np.float32)
        return {"last_hidden_state": torch.from_numpy(hidden)}
