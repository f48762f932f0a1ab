"""``auto``: encode with the fastest backend this CPU offers whose scores stay equal to fp32's.

Which backend is fastest depends on the CPU, not on reasonir: all-MiniLM-L6-v2 at 256 tokens ran ``torch-bf16``
2.2x faster than fp32 on a Xeon with AMX, where ``onnx-int8`` was 1.2x; on an AVX2-only Xeon ``onnx-int8`` was 1.3x
and bf16 is emulated (slower than fp32); on a 2-core AVX2 EPYC, CTranslate2 in fp32 (``ct2``) was 1.75x torch on
the probe's mix of queries and passages and 1.08x on abstracts at 256 tokens, int8 no faster there
(``benchmarks/results/encoding_backends*.json``); on the AMX Xeon, OpenVINO's compiled bf16 graph (``openvino``)
ran 4.15x fp32 on abstracts where ``torch-bf16`` ran 2.30x (``benchmarks/results/encoding_backends_amx.json``). So
``auto`` decides per model and machine, in three steps:

1. **Candidates**, from the CPU's flags and the installed engines (:func:`candidates`): ``openvino`` (OpenVINO's
   compiled graph, bf16 where the CPU has bf16 units, else fp32) where the CPU has bf16 or int8 units and openvino is
   installed; ``torch-bf16`` where the CPU computes in bf16 (AVX512-BF16, AMX-BF16, Arm BF16); ``onnx-int8`` and
   ``ct2-int8`` where it has int8 dot-product instructions (VNNI, AMX-INT8, Arm dot product) and onnxruntime /
   ctranslate2 is installed, ``onnx-int8`` not where the CPU has AMX (on the AMX Xeon it read 0.95-1.28x fp32 in
   five probes, under the 1.2x a switch needs or barely over it, where the bf16 backends read 2.2-3.0x; its export
   and quantization took 8.8 of a cold probe's 28.4 s: ``benchmarks/bench_cold_encoder.py``), ``ct2-int8`` only where the CPU has no bf16 units (on the AMX Xeon it read 2.65x fp32
   on the probe, one thread over short and long texts, and ran 0.89x on abstracts at 256 tokens with both threads,
   where openvino ran 4.96x: ``bench_encoding_profile.py``, 2026-12-06); ``ct2`` (CTranslate2 in fp32, the same arithmetic as torch, so equal quality on any
   CPU) wherever ctranslate2 is installed. Without int8 dot products (AVX2), int8 runs through a saturating u8 x s8
   instruction and moved SciFact nDCG@10 by 0.0064 (onnx-int8; outside the band of "equal quality"), so int8 is no
   candidate there. No candidate (an AVX2-only CPU without ctranslate2), a GPU, or a model object passed in (a model
   in training: its fp32 weights stay untouched) means ``torch`` at once, with no probe.
2. **Probe** (:func:`probe`): fp32 and each candidate encode the same fixed texts (``probe_texts.json``: 20
   queries and their passages, 27 to 295 tokens, across domains) in the same batches: once untimed, which measures
   quality and prepares each batch shape's kernels, then once timed, every batch by each side back to back, the
   first side alternating from batch to batch (A B C, C B A, ...). Quality is agreement with fp32 on those texts:
   the cosine of each text's embeddings, and per query the ranking of the 20 passages (Kendall tau, and the top
   passage). Speed is the CPU time of the
   probing process, computing on one thread: a machine shared with other work slows wall-clock passes by 2x and
   more, at random, while CPU time varies far less. The process's, not the calling thread's: CTranslate2 computes
   on a worker thread of its own, which the caller's clock missed (ct2 then read as 111x fp32). About 4 seconds for MiniLM, 9.5 in all on a new machine where
   ``onnx-int8`` is a candidate (its one-time export, kept and reused by every later load, included).
3. **Verdict** (:func:`pick`): the fastest candidate within :data:`TOLERANCE` and at least :data:`MIN_SPEEDUP`
   times fp32's speed; otherwise ``torch``. It is kept as JSON in ``encoders/<architecture>/auto-<key>.json`` under
   :func:`reasonir.paths.cache_root`, the key made of the model's architecture
   (:func:`reasonir.models.loading.architecture_key`: its shapes, not its weights, so every fine-tuned copy of a
   model takes the verdict its base was probed for instead of a probe of its own; a hub name not downloaded: its
   identity), the candidates, the CPU signature (:func:`reasonir.hardware.cpu_signature`) and the versions of torch,
   sentence-transformers, onnxruntime, ctranslate2 and openvino;
   written atomically, and probed by one process at a time (a file lock: the others then read its verdict).
   Delete the file to probe again. The choice and its reason are printed once per process and model (to stderr),
   and a dense index keeps them in its manifest.

An explicit backend always wins over ``auto``. The choice logic takes the flags and the probe as arguments, so it is
tested for CPUs other than the one running the tests:

    >>> candidates(frozenset({"avx2", "fma"}), onnx_installed=True, ct2_installed=False, openvino_installed=True,
    ...            device="cpu")
    ()
    >>> candidates(frozenset({"avx2", "fma"}), onnx_installed=True, ct2_installed=True, device="cpu")
    ('ct2',)
    >>> candidates(frozenset({"avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16"}), onnx_installed=True,
    ...            ct2_installed=True, openvino_installed=True, device="cpu")
    ('openvino', 'torch-bf16', 'ct2')
    >>> resolve_backend("auto", flags=frozenset({"avx2"}), ct2_installed=False, device="cpu", announce=False).backend
    'torch'
    >>> pick([Measurement("torch", 10.0), Measurement("torch-bf16", 31.0, 0.998, 0.987, 1.0, 3.1)])[0]
    'torch-bf16'
"""
from __future__ import annotations

import contextlib
import copy
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from reasonir.data.atomic import atomic_open
from reasonir.hardware import bf16_supported, cpu_flags, cpu_signature, int8_dot_supported
from reasonir.models.backends import (
    RESOLVED_BACKENDS, EncoderBackend, ResolvedBackend, apply_backend, check_backend, effective_backend, model_folder,
)
from reasonir.models.loading import architecture_key, load_as, model_identity

PROBE_LAYOUT = 4  # bump when the probe texts, its measures or TOLERANCE change: cached verdicts are then redone
PROBE_BATCH = 8  # texts per forward pass in the probe, grouped by length as sentence-transformers groups them
SPEED_REPEATS = 1  # timed passes over the probe texts per side, after the untimed one that measures quality


@dataclass(frozen=True)
class Tolerance:
    """How close to fp32 a candidate must stay on the probe texts to count as equal quality.

    Set from all-MiniLM-L6-v2 on this project's AMX Xeon, where SciFact nDCG@10 is the judge
    (``benchmarks/bench_encoding_backends.py`` records both): ``torch-bf16`` gave a lowest cosine of 0.9999 and a
    mean tau of 0.988, ``onnx-int8`` (VNNI preset) 0.991 and 0.925, every top passage unchanged for both, and both
    kept SciFact nDCG@10 within 0.0004 of fp32's 0.6451. The thresholds sit below both with a margin, and far above
    what a broken backend gives (int8 with signed weights on AVX2: cosine 0.88). The probe cannot see a shift as
    small as int8's on AVX2 (nDCG@10 +0.0064 with cosines near 0.997): that case is kept out by the CPU flags.
    """

    min_cosine: float = 0.98  # lowest cosine, over all probe texts, between a text's candidate and fp32 embeddings
    min_tau: float = 0.90  # mean Kendall tau between the candidate's and fp32's ranking of the passages per query
    top1: float = 1.0  # share of queries whose top passage must be fp32's (all of them)

    def violation(self, m: Measurement) -> str | None:
        """Why ``m`` is not equal to fp32 on the probe, or None when it is."""
        if m.error:
            return f"failed: {m.error}"
        if m.min_cosine < self.min_cosine:
            return f"lowest cosine to fp32 {m.min_cosine:.4f} < {self.min_cosine}"
        if m.mean_tau < self.min_tau:
            return f"ranking agreement (mean Kendall tau) {m.mean_tau:.3f} < {self.min_tau}"
        if m.top1 < self.top1:
            return f"top passage changed for {1 - m.top1:.0%} of the probe queries"
        return None


TOLERANCE = Tolerance()
# A candidate must beat fp32 by this much on the probe: the probe times one thread, encoding runs on all of them, and
# the gain of a kernel can shrink with more threads; a verdict is kept, so a marginal gain must not turn into a loss.
MIN_SPEEDUP = 1.2


@dataclass(frozen=True)
class Measurement:
    """One backend on the probe texts: speed, and (for a candidate) agreement with fp32."""

    backend: ResolvedBackend
    texts_per_s: float
    min_cosine: float = 1.0
    mean_tau: float = 1.0
    top1: float = 1.0
    speedup: float = 1.0  # fp32's CPU time over this backend's, for the same batches
    load_seconds: float = 0.0  # casting or exporting (an ONNX export made now: seconds; a cached one: near 0)
    error: str | None = None  # the backend failed on this model (e.g. an architecture its ONNX export cannot take)


@dataclass(frozen=True)
class BackendChoice:
    """The backend that runs, what was asked for, and why."""

    requested: EncoderBackend
    backend: ResolvedBackend
    reason: str
    cached: bool = False  # the verdict was read from the cache, not measured now
    measurements: tuple[Measurement, ...] = ()
    verdict_file: str | None = None
    probe_seconds: float | None = None
    made: str | None = None  # when the verdict was measured (UTC, ISO 8601)
    measured_for: str | None = None  # the model the probe ran on (a cached verdict may be another of its architecture)

    def describe(self, model: str | None = None) -> str:
        """The line printed once: backend, model, reason, and where a verdict is kept."""
        head = f"encoder backend {self.requested}: {self.backend}" + (f" for {model}" if model else "")
        if self.cached:
            other = (f" for {self.measured_for}, of the same architecture" if self.measured_for and model
                     and self.measured_for != model else "")
            return (f"{head} (cached verdict of {self.made}{other}, {self.verdict_file}: {self.reason}; delete the "
                    "file to probe again)")
        where = f"; verdict kept in {self.verdict_file}" if self.verdict_file else ""
        took = f"probed in {self.probe_seconds:.1f} s: " if self.probe_seconds is not None else ""
        return f"{head} ({took}{self.reason}{where})"

    def as_dict(self) -> dict[str, Any]:
        """What an index manifest keeps (``encoder_backend_choice``)."""
        out: dict[str, Any] = {"requested": self.requested, "backend": self.backend, "reason": self.reason,
                               "cached": self.cached}
        if self.measurements:
            out["probe"] = [asdict(m) for m in self.measurements]
        if self.verdict_file:
            out.update(verdict_file=self.verdict_file, made=self.made, measured_for=self.measured_for)
        return out


def candidates(flags: frozenset[str] | None = None, *, onnx_installed: bool | None = None,
               ct2_installed: bool | None = None, openvino_installed: bool | None = None,
               device: str | None = None) -> tuple[ResolvedBackend, ...]:
    """The backends that can beat fp32 torch here (see the module doc), fastest-looking first; () for none.
    ``*_installed`` None: whether the engine is importable here."""
    if _on_gpu(device):
        return ()
    flags = cpu_flags() if flags is None else flags
    if onnx_installed is None:
        onnx_installed = _installed("onnxruntime", "onnx")
    if ct2_installed is None:
        ct2_installed = _installed("ctranslate2")
    if openvino_installed is None:
        openvino_installed = _installed("openvino")
    found: list[ResolvedBackend] = []
    if openvino_installed and (bf16_supported(flags) or int8_dot_supported(flags)):
        found.append("openvino")
    if bf16_supported(flags):
        found.append("torch-bf16")
    if int8_dot_supported(flags):
        # ct2-int8 misleads the probe where bf16 units exist (see the module doc): faster there on it, slower at work;
        # onnx-int8 is not probed beside AMX's bf16 (see the module doc): it never came near the bf16 backends there
        found += (["onnx-int8"] * (onnx_installed and "amx_bf16" not in flags)
                  + ["ct2-int8"] * (ct2_installed and not bf16_supported(flags)))
    if ct2_installed:
        found.append("ct2")
    return tuple(found)


def _installed(*modules: str) -> bool:
    """Whether every one of ``modules`` can be imported (found, not imported: no seconds spent loading them)."""
    return all(importlib.util.find_spec(m) is not None for m in modules)


def _on_gpu(device: str | None) -> bool:
    if device is not None:
        return not str(device).startswith("cpu")
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())  # sentence-transformers then loads the model on the GPU


def pick(measurements: Sequence[Measurement], tolerance: Tolerance = TOLERANCE,
         min_speedup: float = MIN_SPEEDUP) -> tuple[ResolvedBackend, str]:
    """The backend the probe's ``measurements`` (fp32 ``torch`` among them) call for, and the reason in words.

    >>> fp32 = Measurement("torch", 10.0)
    >>> pick([fp32, Measurement("torch-bf16", 31.0, 0.970, 0.99, 1.0, speedup=3.1)])
    ('torch', 'fp32 kept: torch-bf16 3.10x but lowest cosine to fp32 0.9700 < 0.98')
    >>> pick([fp32, Measurement("onnx-int8", 11.0, 0.999, 0.99, 1.0, speedup=1.1)])[1]
    'fp32 kept: onnx-int8 1.10x, under the 1.2x a switch needs'
    """
    passing: list[tuple[float, Measurement]] = []
    notes: list[str] = []
    for m in measurements:
        if m.backend == "torch":
            continue
        speedup = m.speedup
        problem = tolerance.violation(m)
        if m.error:
            notes.append(f"{m.backend} {problem}")
        elif problem:
            notes.append(f"{m.backend} {speedup:.2f}x but {problem}")
        elif speedup < min_speedup:
            notes.append(f"{m.backend} {speedup:.2f}x, under the {min_speedup}x a switch needs")
        else:
            passing.append((speedup, m))
    if not passing:
        return "torch", "fp32 kept: " + "; ".join(notes)
    speedup, best = max(passing, key=lambda sm: sm[0])
    others = notes + [f"{m.backend} {s:.2f}x" for s, m in passing if m is not best]
    return best.backend, (f"{speedup:.2f}x fp32's speed on the probe, scores equal to fp32's within tolerance "
                          f"(lowest cosine {best.min_cosine:.4f}, ranking tau {best.mean_tau:.3f})"
                          + (f"; {', '.join(others)}" if others else ""))


@lru_cache(maxsize=1)
def probe_texts() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(queries, passages) of the probe: query i belongs with passage i."""
    data = json.loads(resources.files("reasonir.models").joinpath("probe_texts.json").read_text(encoding="utf-8"))
    return tuple(p["query"] for p in data["pairs"]), tuple(p["passage"] for p in data["pairs"])


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau between two score vectors (ties count as neither concordant nor discordant).

    >>> kendall_tau(np.array([1.0, 2, 3]), np.array([10.0, 20, 30]))
    1.0
    >>> kendall_tau(np.array([1.0, 2, 3]), np.array([3.0, 1, 2]))
    -0.3333333333333333
    """
    i, j = np.triu_indices(len(a), k=1)
    agree = np.sign(a[i] - a[j]) * np.sign(b[i] - b[j])
    return float(agree.sum() / len(i)) if len(i) else 1.0


def compare(reference: np.ndarray, vectors: np.ndarray, queries: int) -> dict[str, float]:
    """Agreement of ``vectors`` with fp32's ``reference`` (rows: the probe's queries, then its passages)."""
    ref, got = reference, vectors  # as encode returns them: search scores these very vectors
    ref_scores, got_scores = ref[:queries] @ ref[queries:].T, got[:queries] @ got[queries:].T
    taus = [kendall_tau(r, g) for r, g in zip(ref_scores, got_scores)]
    return {"min_cosine": float((ref * got).sum(axis=1).min()), "mean_tau": float(np.mean(taus)),
            "top1": float((ref_scores.argmax(axis=1) == got_scores.argmax(axis=1)).mean())}


def probe(model_name: str | None, backends: Sequence[ResolvedBackend], device: str | None = None) -> list[Measurement]:
    """Measure fp32 torch and each of ``backends`` on the probe texts (see the module doc); fp32 comes first."""
    queries, passages = probe_texts()
    texts = [*queries, *passages]
    identity = model_identity(model_name)  # type: ignore[arg-type]  # None: the default encoder
    with _one_thread():
        models = {"torch": load_as(model_name, device, "torch")}
        # The same batches every time (texts of like length together, as encode groups them), so the timed passes
        # run shapes the untimed first pass prepared kernels for (oneDNN builds its bf16/AMX kernels per shape)
        by_length = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        batches = [by_length[i:i + PROBE_BATCH] for i in range(0, len(by_length), PROBE_BATCH)]
        order_back = np.argsort([i for batch in batches for i in batch])  # batch order -> the texts' own order
        vectors = {"torch": _encode(models["torch"], texts, batches)[0][order_back]}  # quality; prepares kernels
        load_seconds: dict[str, float] = {}
        failed: dict[str, str] = {}
        for backend in backends:
            start = time.perf_counter()
            try:
                # A copy: the casts and exports replace modules in place, and fp32 must stay the reference
                model = apply_backend(copy.deepcopy(models["torch"]), backend, identity)
                load_seconds[backend] = time.perf_counter() - start
                vectors[backend] = _encode(model, texts, batches)[0][order_back]
                models[backend] = model
            except Exception as error:  # noqa: BLE001 - a backend that cannot run this model is no candidate
                failed[backend] = f"{type(error).__name__}: {str(error)[:200]}"
        seconds: dict[str, list[float]] = {name: [] for name in models}
        order = list(models)
        for rep in range(SPEED_REPEATS):
            for number, batch in enumerate(batches):  # each batch by every side back to back, A B C then C B A
                for name in order if (rep + number) % 2 == 0 else order[::-1]:
                    seconds[name].append(_encode(models[name], texts, [batch])[1])

    def rate(name: str) -> float:
        return round(len(texts) * SPEED_REPEATS / sum(seconds[name]), 2)

    result = [Measurement("torch", rate("torch"))]
    for backend in backends:
        if backend in failed:
            result.append(Measurement(backend, 0.0, 0.0, 0.0, 0.0, 0.0, error=failed[backend]))
            continue
        agreement = {k: round(v, 4) for k, v in compare(vectors["torch"], vectors[backend], len(queries)).items()}
        result.append(Measurement(backend, rate(backend), **agreement,
                                  speedup=round(sum(seconds["torch"]) / sum(seconds[backend]), 3),
                                  load_seconds=round(load_seconds[backend], 2)))
    return result


def _encode(model: Any, texts: Sequence[str], batches: Sequence[Sequence[int]]) -> tuple[np.ndarray, float]:
    """Unit vectors of the texts ``batches`` name (lists of indices into ``texts``), one forward pass per batch,
    in the order the batches list them; and the CPU seconds the process spent, every thread counted (the probe
    computes on one thread, see :func:`probe`; CTranslate2's is not the caller's)."""
    parts = []
    start = time.process_time()
    for batch in batches:
        parts.append(model.encode([texts[i] for i in batch], batch_size=len(batch), normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False))
    return np.concatenate([np.asarray(p, dtype=np.float32) for p in parts]), time.process_time() - start


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # ONNX Runtime sessions made meanwhile take this count too (onnx_module.py)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def verdict_file(model_key: str, backends: Sequence[ResolvedBackend], root: str | Path | None = None,
                 flags: frozenset[str] | None = None) -> Path:
    """Where the verdict for this model (its architecture key, or its identity), these candidates and this machine
    is kept."""
    import hashlib

    parts = {"model": model_key, "candidates": list(backends), "cpu": cpu_signature(flags),
             "versions": {name: _version(name)
                          for name in ("torch", "sentence-transformers", "onnxruntime", "ctranslate2", "openvino")},
             "layout": PROBE_LAYOUT}
    key = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
    return model_folder(model_key, root) / f"auto-{key}.json"


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


Probe = Callable[[str | None, Sequence[ResolvedBackend], str | None], list[Measurement]]


def resolve_backend(requested: str | None = "auto", model_name: str | None = None, device: str | None = None, *,
                    flags: frozenset[str] | None = None, onnx_installed: bool | None = None,
                    ct2_installed: bool | None = None, openvino_installed: bool | None = None,
                    probe_with: Probe = probe, cache_root: str | Path | None = None,
                    announce: bool = True) -> BackendChoice:
    """The backend that runs ``model_name`` when ``requested`` is asked for: an explicit backend as it is (after
    :func:`reasonir.models.backends.effective_backend`'s bf16 fallback), ``auto`` as the module doc describes.

    ``flags``, ``onnx_installed``, ``ct2_installed``, ``openvino_installed`` and ``probe_with`` stand in for this
    CPU, its packages and the real probe (tests); ``cache_root`` for ``$REASONIR_CACHE/encoders``.
    """
    requested = check_backend(requested)
    if requested != "auto":
        backend = effective_backend(requested)
        reason = "asked for" if backend == requested else "asked for torch-bf16; this CPU has no bf16 units"
        return BackendChoice(requested, backend, reason)
    found = candidates(flags, onnx_installed=onnx_installed, ct2_installed=ct2_installed,
                       openvino_installed=openvino_installed, device=device)
    if not found:
        choice = BackendChoice("auto", "torch", _no_candidate_reason(flags, device))
        return _announced(choice, model_name, announce)
    model_key = architecture_key(model_name) or model_identity(model_name)  # type: ignore[arg-type]
    path = verdict_file(model_key, found, cache_root, flags)
    choice = _read_verdict(path, found)
    if choice is None:
        with _probe_lock(path):
            choice = _read_verdict(path, found)  # another process may have probed while this one waited
            if choice is None:
                choice = _measure(path, model_name, found, device, probe_with)
    return _announced(choice, model_name, announce)


def as_loaded(requested: EncoderBackend = "auto") -> BackendChoice:
    """The choice for a model object passed in: it runs as it was loaded (a model in training keeps its fp32
    weights; nothing is cast or exported)."""
    return BackendChoice(requested, "torch", "a loaded model object runs as it was loaded")


def _no_candidate_reason(flags: frozenset[str] | None, device: str | None) -> str:
    if _on_gpu(device):
        return "a GPU device: the CPU backends do not apply"
    flags = cpu_flags() if flags is None else flags
    if int8_dot_supported(flags):
        return ("no bf16 units, and none of onnxruntime, ctranslate2 (for int8) or openvino is installed: pip install "
                "'reasonir[onnx]', 'reasonir[ct2]' or 'reasonir[openvino]'")
    return ("this CPU has no bf16 or int8 dot-product units (AVX512-BF16, AMX, VNNI), and ctranslate2 (an fp32 engine "
            "that may beat torch here: pip install 'reasonir[ct2]') is not installed; fp32 torch it is")


def _measure(path: Path, model_name: str | None, found: tuple[ResolvedBackend, ...], device: str | None,
             probe_with: Probe) -> BackendChoice:
    start, cpu = time.perf_counter(), time.process_time()
    measurements = tuple(probe_with(model_name, found, device))
    seconds = time.perf_counter() - start
    backend, reason = pick(measurements)
    made = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    record = {"backend": backend, "reason": reason, "made": made, "measured_for": model_name or "the default encoder",
              "probe_seconds": round(seconds, 2),
              "probe_cpu_seconds": round(time.process_time() - cpu, 2),
              "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
              "candidates": list(found), "tolerance": asdict(TOLERANCE), "min_speedup": MIN_SPEEDUP,
              "measurements": [asdict(m) for m in measurements], "layout": PROBE_LAYOUT}
    try:
        with atomic_open(path, overwrite=True) as fh:
            json.dump(record, fh, indent=1)
    except OSError:  # a read-only cache: the choice stands for this process, and is measured again next time
        path = None  # type: ignore[assignment]
    return BackendChoice("auto", backend, reason, False, measurements, str(path) if path else None,
                         round(seconds, 2), made, model_name or "the default encoder")


def _read_verdict(path: Path, found: tuple[ResolvedBackend, ...]) -> BackendChoice | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        backend = record["backend"]
        if backend not in RESOLVED_BACKENDS or (backend != "torch" and backend not in found):
            return None
        measurements = tuple(Measurement(**m) for m in record.get("measurements", []))
        return BackendChoice("auto", backend, record["reason"], True, measurements, str(path),
                             record.get("probe_seconds"), record.get("made"), record.get("measured_for"))
    except (OSError, ValueError, KeyError, TypeError):  # none yet, or unreadable: probe (again)
        return None


@contextlib.contextmanager
def _probe_lock(path: Path) -> Iterator[None]:
    """One probe at a time per verdict (serve workers and Ray actors start together; probes run side by side on
    the same cores would each measure the other's load)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: probes may run twice; each writes a whole verdict
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


_ANNOUNCED: set[tuple[str, str, str]] = set()


def _announced(choice: BackendChoice, model_name: str | None, announce: bool) -> BackendChoice:
    key = (str(model_name), choice.backend, choice.reason)
    if announce and key not in _ANNOUNCED:
        _ANNOUNCED.add(key)
        print(choice.describe(model_name or "the default encoder"), file=sys.stderr)
    return choice


__all__ = ["BackendChoice", "MIN_SPEEDUP", "Measurement", "TOLERANCE", "Tolerance", "as_loaded", "candidates",
           "pick", "probe", "resolve_backend", "verdict_file"]
