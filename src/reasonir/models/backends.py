"""Encoding backends: the same sentence-transformers model run in fp32 torch, bf16 torch, ONNX Runtime, CTranslate2
or OpenVINO.

``auto`` (the default) picks one of them per model and machine by a short measured probe (see
:mod:`reasonir.models.auto`). ``torch`` is sentence-transformers as loaded. ``torch-bf16`` casts the weights to
bfloat16 where the CPU has bf16 instructions (AVX512-BF16, AMX, Armv8.6 BF16); elsewhere bf16 is emulated and slower
than fp32, so it falls back to ``torch`` with a warning. ``onnx`` exports the transformer to ONNX (fp32) and runs it
in ONNX Runtime; ``onnx-int8`` quantizes that graph's weights to int8 (dynamic quantization, activations quantized
per batch) with the preset that suits this CPU (:func:`quantization_preset`). ``ct2`` converts the transformer for
CTranslate2's ``Encoder`` (fp32, :mod:`reasonir.models.ct2_module`; ``pip install 'reasonir[ct2]'``) and ``ct2-int8``
runs that conversion with int8 matrix products (weights quantized at load). ``openvino`` converts the transformer
for OpenVINO and runs it compiled on the CPU, in bf16 where the CPU has bf16 units, else in fp32
(:mod:`reasonir.models.openvino_module`; ``pip install 'reasonir[openvino]'``).

Only the transformer module is replaced: tokenization, pooling and normalization stay sentence-transformers' own,
so ``encode`` and every option of it behave as before. sentence-transformers' own ``backend="onnx"`` needs
optimum-onnx, whose only release (0.1.0) requires transformers < 4.58 while sentence-transformers 6 requires
transformers 5, so the export here uses torch's ONNX exporter and onnxruntime's fusion and quantization tools
(the steps optimum runs) directly.

Exports are cached under ``$REASONIR_CACHE/encoders`` (default ``~/.cache/reasonir/encoders``), one folder per
model identity and backend (int8: per quantization preset too, so a cache shared by two kinds of CPU never runs one's
int8 graph on the other), written to a temporary folder and renamed, so a second load reuses them and an
interrupted export leaves nothing half-written. CTranslate2 conversions are kept per CTranslate2 version
(``<model folder>/ct2-<version>``), shared by ``ct2`` and ``ct2-int8``; OpenVINO conversions per OpenVINO version
(``<model folder>/openvino-<version>``).

Example:
    >>> effective_backend("onnx")
    'onnx'
    >>> check_backend("auto")
    'auto'
    >>> effective_backend("fp8")
    Traceback (most recent call last):
    ...
    ValueError: unknown encoder backend 'fp8'; expected one of auto, torch, torch-bf16, onnx, onnx-int8, ct2, ct2-int8, openvino
    >>> model = load_encoder(backend="onnx-int8")  # doctest: +SKIP
    >>> model.encode(["a query"], normalize_embeddings=True).shape  # doctest: +SKIP
    (1, 384)
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import re
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from reasonir.hardware import bf16_supported, cpu_flags
from reasonir.optional import require
from reasonir import paths

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

ResolvedBackend = Literal["torch", "torch-bf16", "onnx", "onnx-int8", "ct2", "ct2-int8", "openvino"]  # what runs
EncoderBackend = Literal["auto", ResolvedBackend]  # what may be asked for
ENCODER_BACKENDS: tuple[EncoderBackend, ...] = ("auto", *get_args(ResolvedBackend))
RESOLVED_BACKENDS: tuple[ResolvedBackend, ...] = get_args(ResolvedBackend)
# The one default of every command and API that encodes (index, eval, compare, synthesize, label, serve ...)
DEFAULT_ENCODER_BACKEND: EncoderBackend = "auto"
ONNX_BACKENDS: tuple[ResolvedBackend, ...] = ("onnx", "onnx-int8")
CT2_BACKENDS: tuple[ResolvedBackend, ...] = ("ct2", "ct2-int8")

# optimum's AutoQuantizationConfig presets, by name; (weight type, per channel) as optimum sets them for dynamic
# quantization. AVX2 without VNNI multiplies u8 x s8 with an instruction that saturates (vpmaddubsw), so its
# preset keeps weights unsigned; measured here: signed weights on AVX2 gave cosine 0.88 to fp32, unsigned 0.997.
QuantPreset = Literal["arm64", "avx2", "avx512", "avx512_vnni"]
_PRESETS: dict[str, tuple[str, bool]] = {
    "arm64": ("QInt8", True), "avx2": ("QUInt8", True), "avx512": ("QUInt8", True), "avx512_vnni": ("QInt8", True),
}
# Model families whose ONNX graph onnxruntime's transformer optimizer fuses (attention, LayerNorm, GELU)
_FUSABLE = {"bert": "bert", "roberta": "bert", "xlm-roberta": "bert", "mpnet": "bert", "distilbert": "bert"}
ONNX_OPSET = 17  # LayerNormalization is a single op from 17 on; onnxruntime 1.18+ runs it
EXPORT_LAYOUT = 2  # bump when the export recipe or folder naming changes, so old exports are not reused


def quantization_preset(flags: frozenset[str] | None = None, machine: str | None = None) -> QuantPreset:
    """The dynamic int8 preset for this CPU, by optimum's names.

    >>> quantization_preset(frozenset({"avx2"}), "x86_64")
    'avx2'
    >>> quantization_preset(frozenset({"avx2", "avx512f", "avx512_vnni"}), "x86_64")
    'avx512_vnni'
    >>> quantization_preset(frozenset(), "aarch64")
    'arm64'
    """
    flags = cpu_flags() if flags is None else flags
    machine = (machine or platform.machine()).lower()
    if machine in {"aarch64", "arm64"}:
        return "arm64"
    if "avx512_vnni" in flags or "amx_int8" in flags:
        return "avx512_vnni"
    if "avx512f" in flags:
        return "avx512"
    return "avx2"


def check_backend(backend: str | None) -> EncoderBackend:
    """``backend`` (None: the default) if it names a backend or ``auto``; a ValueError otherwise."""
    backend = backend or DEFAULT_ENCODER_BACKEND
    if backend not in ENCODER_BACKENDS:
        raise ValueError(f"unknown encoder backend {backend!r}; expected one of {', '.join(ENCODER_BACKENDS)}")
    return backend  # type: ignore[return-value]


def effective_backend(backend: str) -> ResolvedBackend:
    """The backend that will run for an explicit ``backend``: checked, with ``torch-bf16`` falling back to
    ``torch`` (and a warning) on a CPU without bf16 instructions. ``auto`` is resolved per model by
    :func:`reasonir.models.auto.resolve_backend`, not here."""
    backend = check_backend(backend)
    if backend == "auto":
        raise ValueError("encoder backend auto depends on the model: resolve it with "
                         "reasonir.models.auto.resolve_backend(model_name)")
    if backend == "torch-bf16" and not bf16_supported():
        _warn_bf16_once()
        return "torch"
    return backend


@lru_cache(maxsize=1)
def _warn_bf16_once() -> None:
    logger.warning("encoder backend torch-bf16: this CPU has no bf16 instructions (avx512_bf16, amx_bf16), where "
                   "bf16 runs emulated and slower than fp32; encoding with torch (fp32) instead")


def encoder_cache_dir() -> Path:
    """``$REASONIR_CACHE/encoders`` when set, else ``~/.cache/reasonir/encoders``."""
    return paths.cache_root() / "encoders"


def model_folder(identity: str, root: str | Path | None = None) -> Path:
    """The cache folder of the model named ``identity`` (its exports and backend verdicts): ``<root>/<slug>-<hash>``."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", identity.split("@")[0].rstrip("/").split("/")[-1])[:60] or "model"
    digest = hashlib.sha256(f"{identity}\0{EXPORT_LAYOUT}".encode()).hexdigest()[:16]
    return Path(root or encoder_cache_dir()) / f"{slug}-{digest}"


def export_folder(identity: str, backend: ResolvedBackend, root: str | Path | None = None,
                  preset: QuantPreset | None = None) -> Path:
    """Where the export of the model named ``identity`` for ``backend`` lives: ``<model folder>/<backend>``, and
    for ``onnx-int8`` ``<model folder>/onnx-int8-<preset>`` (default: this CPU's preset), for ``ct2`` and
    ``ct2-int8`` ``<model folder>/ct2-<CTranslate2 version>`` (one fp32 conversion; int8 is made at load), for
    ``openvino`` ``<model folder>/openvino-<OpenVINO version>``."""
    if backend in CT2_BACKENDS:
        from reasonir.models.ct2_module import ct2_version

        return model_folder(identity, root) / f"ct2-{ct2_version()}"
    if backend == "openvino":
        from reasonir.models.openvino_module import openvino_version

        return model_folder(identity, root) / f"openvino-{openvino_version()}"
    name = f"{backend}-{preset or quantization_preset()}" if backend == "onnx-int8" else backend
    return model_folder(identity, root) / name


def apply_backend(model: SentenceTransformer, backend: ResolvedBackend, identity: str,
                  cache_root: str | Path | None = None) -> SentenceTransformer:
    """Switch a loaded fp32 model to ``backend`` in place (exporting once per identity) and return it."""
    backend = effective_backend(backend)
    if backend == "torch":
        return model
    if backend == "torch-bf16":
        import torch

        # The transformer only, its outputs cast back: pooling and normalization in bf16 left unit vectors with
        # norms 1 +- 0.002, which scale every inner-product score by as much
        model[0].to(torch.bfloat16)
        model[0].register_forward_hook(_outputs_to_fp32)
        return model
    transformer = model[0]
    # the stand-in holds no torch parameters; FLOP counts (retrieve.compute) read the replaced model's from it
    replaced = sum(p.numel() for p in transformer.model.parameters())
    folder = export_folder(identity, backend, cache_root)
    if backend in CT2_BACKENDS:
        from reasonir.models.ct2_module import COMPUTE_TYPES, Ct2Transformer, ensure_converted

        converted, made = ensure_converted(transformer, folder)
        if made:
            logger.info("converted encoder for CTranslate2 to %s", converted)
        transformer.model = Ct2Transformer(converted, transformer.model.config, compute_type=COMPUTE_TYPES[backend])
        transformer.model.exported_now, transformer.model.replaced_parameters = made, replaced
        return model
    if backend == "openvino":
        from reasonir.models import openvino_module as ov_module

        ov_module.check_supported(transformer.model.config)  # first: an untested family may crash the compiler
        names = _input_names(transformer)
        path, made = ov_module.ensure_converted(transformer, folder, names)
        if made:
            logger.info("converted encoder for OpenVINO to %s", path.parent)
        transformer.model = ov_module.OpenVinoTransformer(path, transformer.model.config, input_names=names)
        transformer.model.exported_now, transformer.model.replaced_parameters = made, replaced
        return model
    path, exported = ensure_onnx(transformer, folder, backend)
    from reasonir.models.onnx_module import OnnxTransformer  # imports torch: only when a backend needs it

    transformer.model = OnnxTransformer(path, transformer.model.config, input_names=_input_names(transformer))
    transformer.model.exported_now, transformer.model.replaced_parameters = exported, replaced
    return model


def _outputs_to_fp32(module: Any, args: Any, features: dict[str, Any]) -> dict[str, Any]:
    return {k: v.float() if hasattr(v, "is_floating_point") and v.is_floating_point() else v
            for k, v in features.items()}


def ensure_onnx(transformer: Any, folder: Path, backend: ResolvedBackend) -> tuple[Path, bool]:
    """``folder/model.onnx``, exported (and for ``onnx-int8`` quantized) unless already there; the bool says
    whether it was made now. The folder appears whole or not at all (built aside, then renamed)."""
    target = folder / "model.onnx"
    if target.is_file():
        return target, False
    onnx_rt = require("onnxruntime", "onnx", purpose=f"encoder backend {backend}")
    require("onnx", "onnx", purpose=f"encoder backend {backend}")
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{backend}-", dir=folder.parent))
    try:
        fp32 = _export_fp32(transformer, work)
        info: dict[str, Any] = {"backend": backend, "opset": ONNX_OPSET, "onnxruntime": onnx_rt.__version__,
                                "layout": EXPORT_LAYOUT}
        if backend == "onnx-int8":
            preset = quantization_preset()
            _quantize(fp32, work / "model.int8.onnx", preset)
            fp32.unlink()
            (work / "model.int8.onnx").rename(work / "model.onnx")
            info["quantization"] = {"preset": preset, "weights": _PRESETS[preset][0], "per_channel": True,
                                    "activations": "QUInt8, dynamic"}
        (work / "export.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
        try:
            os.rename(work, folder)
        except OSError:
            if not target.is_file():  # not a concurrent export that finished first
                raise
        logger.info("exported %s encoder to %s", backend, folder)
        return target, True
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _input_names(transformer: Any) -> list[str]:
    """The model inputs its tokenizer produces (BERT: ids, mask, token types; RoBERTa-likes: no token types)."""
    produced = transformer.tokenizer("a")
    return [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in produced]


def _export_fp32(transformer: Any, work: Path) -> Path:
    """Export the transformer's last hidden state to ONNX with dynamic batch and length, then fuse it."""
    import warnings

    import torch

    from reasonir.models.tracing import traceable

    names = _input_names(transformer)
    module, sample = traceable(transformer, names)
    raw = work / "model.raw.onnx"
    axes = {name: {0: "batch", 1: "sequence"} for name in [*names, "last_hidden_state"]}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about shape checks that are constant for encoders
        # dynamo=False: the TorchScript exporter needs no onnxscript and handles transformers' BERT masks
        torch.onnx.export(module, sample, str(raw), dynamo=False,
                          input_names=names, output_names=["last_hidden_state"], dynamic_axes=axes,
                          opset_version=ONNX_OPSET)
    out = work / "model.onnx"
    family = _FUSABLE.get(getattr(transformer.model.config, "model_type", ""))
    if family is None:
        raw.rename(out)
        return out
    from onnxruntime.transformers import optimizer

    # The fusions optimum's ORTOptimizer applies (fused attention, skip-LayerNorm, bias-GELU): fp32-exact
    config = transformer.model.config
    fused = optimizer.optimize_model(str(raw), model_type=family, num_heads=config.num_attention_heads,
                                     hidden_size=config.hidden_size, opt_level=1)
    fused.save_model_to_file(str(out))
    raw.unlink()
    return out


def _quantize(source: Path, target: Path, preset: QuantPreset) -> None:
    weights, per_channel = _PRESETS[preset]
    # onnxruntime logs "Please consider to run pre-processing before quantization" on the root logger at every
    # export; its pre-processing (shape inference, fusions) is what _export already did, so the advice is noise
    quiet = _DropMessage("run pre-processing before quantization")
    logging.getLogger().addFilter(quiet)
    try:
        _quantize_matmuls(source, target, weights, per_channel)
    finally:
        logging.getLogger().removeFilter(quiet)


class _DropMessage(logging.Filter):
    def __init__(self, fragment: str) -> None:
        super().__init__()
        self.fragment = fragment

    def filter(self, record: logging.LogRecord) -> bool:
        return self.fragment not in record.getMessage()


def _quantize_matmuls(source: Path, target: Path, weights: str, per_channel: bool) -> None:
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The matrix products only: also quantizing the embedding lookups (optimum's default takes Gather) lowered
    # agreement with fp32 on short texts (a one-word text: cosine 0.980 instead of 0.984)
    quantize_dynamic(str(source), str(target), weight_type=getattr(QuantType, weights), per_channel=per_channel,
                     op_types_to_quantize=["MatMul", "Attention"],
                     # DefaultTensorType: fused contrib ops (Attention) have no inferred output type
                     extra_options={"WeightSymmetric": True, "ActivationSymmetric": False,
                                    "DefaultTensorType": TensorProto.FLOAT})
