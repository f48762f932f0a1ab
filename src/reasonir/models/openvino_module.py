"""The OpenVINO stand-in for a Hugging Face encoder inside sentence-transformers (see :mod:`.backends`).

Why OpenVINO: its CPU plugin compiles the whole transformer into fused kernels (attention, layer norms, GELU and the
matrix products with their biases) and, on a CPU with bf16 units (AMX-BF16, AVX512-BF16), runs them in bf16 with
AMX tiles, where torch's bf16 still runs op by op. On this project's 2-core AMX Xeon, all-MiniLM-L6-v2 at 256
tokens ran several times faster than sentence-transformers' fp32 ``encode`` (``docs/benchmarks.md`` has the figures
and ``benchmarks/results/encoding_backends_amx.json`` the run).

Precision: ``bf16`` where :func:`reasonir.hardware.bf16_supported` says the CPU computes in bf16, else ``f32`` (set
explicitly: OpenVINO's own default would also pick bf16 on such CPUs, and emulated bf16 elsewhere is slow). Outputs
come back in fp32; pooling and normalization stay sentence-transformers' own, in fp32.

Only the transformer is replaced, as for ONNX and CTranslate2: the tokenizer, pooling and normalization stay
sentence-transformers' own, so ``encode`` keeps every option. The conversion (``openvino.convert_model`` of the
loaded torch model, traced once with dynamic batch and sequence dimensions) is saved in OpenVINO's IR (``model.xml``
and ``model.bin``, weights kept in fp32) per model identity and OpenVINO version, built aside and renamed.

Example:
    >>> from reasonir.models import load_encoder
    >>> type(load_encoder(backend="openvino")[0].model).__name__  # doctest: +SKIP
    'OpenVinoTransformer'
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reasonir.hardware import bf16_supported
from reasonir.models.tracing import traceable
from reasonir.optional import require

MODEL_FILE = "model.xml"  # OpenVINO IR: the graph; its weights sit beside it in model.bin
# Model families this backend takes: BERT's layer structure (all-MiniLM-L6-v2, a BERT, is what was converted, compiled
# and compared with fp32 here). Others are refused before compiling, with an error the ``auto`` probe records: OpenVINO
# 2026.4's CPU plugin killed the process with a floating point exception (SIGFPE, which no ``except`` catches) while
# compiling a tiny Llama-backbone encoder (hidden size 32) in bf16, and such a crash would take the probe with it.
MODEL_TYPES = frozenset({"bert", "roberta", "xlm-roberta"})


def import_openvino(purpose: str = "the openvino encoder backend") -> Any:
    """``openvino``, or an error that says how to install it."""
    return require("openvino", "openvino", purpose=purpose)


def openvino_version() -> str:
    """The installed OpenVINO version, without its build suffix: conversions are kept per version."""
    return str(import_openvino().__version__).split("-")[0]


@lru_cache(maxsize=1)
def _core() -> Any:
    """One ``openvino.Core`` per process (it holds the plugins and their compiled-kernel caches)."""
    return import_openvino().Core()


def check_supported(config: Any) -> None:
    """A ValueError unless the Hugging Face ``config`` names a family in :data:`MODEL_TYPES`.

    >>> from types import SimpleNamespace
    >>> check_supported(SimpleNamespace(model_type="bert"))
    >>> check_supported(SimpleNamespace(model_type="llama"))
    Traceback (most recent call last):
    ...
    ValueError: encoder backend openvino takes bert, roberta, xlm-roberta models, not llama
    """
    family = getattr(config, "model_type", None)
    if family not in MODEL_TYPES:
        raise ValueError(f"encoder backend openvino takes {', '.join(sorted(MODEL_TYPES))} models, not {family}")


def ensure_converted(transformer: Any, folder: Path, names: list[str]) -> tuple[Path, bool]:
    """``folder/model.xml``, the OpenVINO conversion of the sentence-transformers ``Transformer`` module
    ``transformer`` (its last hidden state, fp32 weights) taking the inputs ``names`` (those its tokenizer produces),
    converted unless already there; the bool says whether it was made now. Built aside and renamed, so an
    interrupted conversion leaves nothing half-written."""
    target = folder / MODEL_FILE
    if target.is_file():
        return target, False
    ov = import_openvino()
    no_telemetry_unless_opted_in()
    module, sample = traceable(transformer, names)
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".openvino-", dir=folder.parent))
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer warnings about shape checks that are constant for encoders
            converted = ov.convert_model(module, example_input=sample,
                                         input=[(ov.PartialShape([-1, -1]), ov.Type.i64)] * len(names))
        for port, name in zip(converted.inputs, names):  # traced positionally: name the ports as the tokenizer does
            port.get_tensor().set_names({name})
        converted.outputs[0].get_tensor().set_names({"last_hidden_state"})
        ov.save_model(converted, str(work / MODEL_FILE), compress_to_fp16=False)  # fp32 weights: exact in f32 mode
        (work / "export.json").write_text(json.dumps({"openvino": ov.__version__, "weights": "float32",
                                                      "inputs": names}, indent=1), encoding="utf-8")
        try:
            os.rename(work, folder)
        except OSError:
            if not target.is_file():  # not a concurrent conversion that finished first
                raise
        return target, True
    finally:
        shutil.rmtree(work, ignore_errors=True)


@lru_cache(maxsize=1)
def no_telemetry_unless_opted_in() -> bool:
    """Switch off the usage events OpenVINO's converter sends, unless the user opted in; True when switched off.

    ``openvino.convert_model`` reports each conversion to Google Analytics through ``openvino_telemetry``, which
    takes a user who never ran its ``opt_in_out`` as consenting, and sends every event from a forked process: about
    30 forks a conversion, which took a MiniLM conversion from 2.2 to 3.8 s on 2 cores, with 2.3 CPU-seconds more
    in the children (``benchmarks/bench_cold_encoder.py``). reasonir converts on its user's behalf, so it reports nothing unless
    ``opt_in_out --opt_in`` recorded a yes. The converter's telemetry is one object per process (a singleton),
    so this holds for the rest of the process.
    """
    try:
        from openvino.tools.ovc.telemetry_utils import init_ovc_telemetry
        from openvino_telemetry.utils.opt_in_checker import ConsentCheckResult, OptInChecker
    except ImportError:  # no openvino_telemetry: OpenVINO then uses its own stub, which sends nothing
        return False
    if OptInChecker().check(enable_opt_in_dialog=False, disable_in_ci=True) == ConsentCheckResult.ACCEPTED:
        return False
    init_ovc_telemetry().consent = False  # what the converter reads before each event
    return True


def precision() -> str:
    """The inference precision this CPU gets: ``bf16`` with bf16 units, else ``f32``."""
    return "bf16" if bf16_supported() else "f32"


class OpenVinoTransformer(torch.nn.Module):
    """Stands in for the Hugging Face model inside sentence-transformers' ``Transformer`` module: takes the
    tokenizer's tensors, runs the compiled OpenVINO model, returns ``{"last_hidden_state": tensor}`` in fp32.

    A batch runs as :attr:`streams` parts side by side: the model is compiled with OpenVINO's THROUGHPUT hint, which
    splits the threads into streams (2 threads: 2 streams of 1 thread), and each part of the batch (its rows, all
    padded to the batch's length as before) goes to one stream.
    One thread per stream spends no time waiting for the other at every operation's end: measured on 2 cores, 1.2x
    the LATENCY hint's one stream of 2 threads over the same batches (``docs/encoding.md``). A batch with fewer rows
    than streams (one query) runs on a second compilation with the LATENCY hint, every thread on it.
    """

    def __init__(self, path: str | Path, config: Any, *, input_names: list[str], inference_precision: str | None = None,
                 threads: int | None = None) -> None:
        super().__init__()
        self.inference_precision = inference_precision or precision()
        # torch's thread setting (``reasonir serve --threads``, torch.set_num_threads, the auto probe's one thread)
        # governs this backend too
        self.threads = threads or torch.get_num_threads()
        self.path = Path(path)
        compiled = self._compile("THROUGHPUT")
        self.streams = max(1, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
        self._requests = [compiled.create_infer_request() for _ in range(self.streams)]
        self._latency: Any = None  # compiled on the first batch with fewer rows than streams
        self._lock = threading.Lock()  # the requests are reused: calls from several threads (serve) take turns
        self.config, self.input_names = config, input_names
        self.exported_now = False
        self.register_buffer("_device_marker", torch.empty(0), persistent=False)  # .device for sentence-transformers

    def _compile(self, hint: str) -> Any:
        return _core().compile_model(str(self.path), "CPU", {
            "INFERENCE_PRECISION_HINT": self.inference_precision, "PERFORMANCE_HINT": hint,
            "INFERENCE_NUM_THREADS": self.threads})

    def forward(self, input_ids: Any = None, attention_mask: Any = None, token_type_ids: Any = None,
                **_: Any) -> dict[str, Any]:
        given = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
        if given["token_type_ids"] is None and "token_type_ids" in self.input_names:
            given["token_type_ids"] = torch.zeros_like(input_ids)
        feed = {name: given[name].cpu().numpy().astype(np.int64, copy=False) for name in self.input_names}
        rows = int(input_ids.shape[0])
        with self._lock:
            if self.streams == 1 or rows < self.streams:
                if self.streams > 1 and self._latency is None:
                    self._latency = self._compile("LATENCY").create_infer_request()
                request = self._requests[0] if self.streams == 1 else self._latency
                # A copy: the array views the request's output buffer, which the next call overwrites
                hidden = np.array(request.infer(feed)[0], dtype=np.float32)
                return {"last_hidden_state": torch.from_numpy(hidden)}
            bounds = np.linspace(0, rows, self.streams + 1).astype(int)
            parts = [{name: np.ascontiguousarray(value[lo:hi]) for name, value in feed.items()}
                     for lo, hi in zip(bounds[:-1], bounds[1:])]
            for request, part in zip(self._requests, parts):
                request.start_async(part)  # parts stay referenced until every request is done
            hidden = np.empty((rows, input_ids.shape[1], self.config.hidden_size), dtype=np.float32)
            for request, lo, hi in zip(self._requests, bounds[:-1], bounds[1:]):
                request.wait()
                hidden[lo:hi] = request.get_output_tensor(0).data
        return {"last_hidden_state": torch.from_numpy(hidden)}
