"""The embedded SmolLM2 run in this process by OpenVINO GenAI's continuous-batching pipeline, no server.

Why: on a CPU with AMX or AVX512-BF16, OpenVINO's CPU plugin runs the model's matrix products in bf16 on those
units (llama.cpp's AMX kernels crash at start, see docs/llm.md, and its other kernels do not use them). The
synthesizer's load suits the pipeline: a seed's k candidates are one request with ``num_return_sequences=k`` (the
prompt is evaluated once, then the k sequences fork from it and share its KV blocks), and requests from other seed
chains join the running batch between decoding steps (continuous batching) instead of waiting for it to end.
Prefix caching keeps evaluated prompt blocks, so a later turn that extends a conversation (the written negative
continues the question's) evaluates only what is new.

The model: openvino-genai reads a GGUF itself, but the packaged Q4_1 file gave other text there (0 of 10 greedy
answers the same as transformers' fp32 ones, where an F16 copy of the same weights gave 10 of 10 in f32 and bf16:
benchmarks/bench_openvino_greedy.py), so
:func:`f16_copy` dequantizes it once into an F16 GGUF at ``$REASONIR_CACHE/models/openvino/<key>/``, ``<key>``
hashing the source file (name, size, modification time) and :data:`FORMAT` (about 7 s and 270 MB for
SmolLM2-135M; every weight keeps the value the Q4_1 file encodes, to within F16's rounding). The pipeline builds
the model from that file at start (about 5 s).

Precision: :func:`choose_precision`: ``bf16`` on CPUs with bf16 units (OpenVINO's default there too; set
explicitly so that the choice is reasonir's, read from the CPU flags), ``f32`` elsewhere. ``LLMConfig.embedded_dtype``
(``REASONIR_LLM_EMBEDDED_DTYPE``) overrides it: ``float32`` is ``f32``, ``bfloat16`` is ``bf16``
(:data:`PRECISION_OF_DTYPE`).

Same contract as every backend (``reasonir.llm.types.LLM``): the response cache is looked up per request (its key
includes the seed, so a resumed job finds each candidate), usage counts a shared prompt's tokens once (on the
group's first answer) and the completion tokens of every answer. A request's ``json_schema`` is enforced while
decoding (OpenVINO GenAI's structured output), like llama-server's grammar. One sampling seed serves a whole group
(the first request's, as ``rng_seed``): the same group with the same seed samples the same k texts again. Sampling
truncates as llama-server does by default (:data:`SAMPLING_AS_LLAMA_SERVER`: top_k 40, min_p 0.05, besides the
request's temperature and top_p), translated by :func:`truncation_after_temperature` to OpenVINO's order, so the two
engines' candidates are alike.

    >>> choose_precision(frozenset({"avx2"})), choose_precision(frozenset({"avx512_bf16", "amx_bf16"}))
    ('f32', 'bf16')
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import itertools
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasonir import paths
from reasonir.hardware import bf16_supported, cpu_flags
from reasonir.llm.cache import ResponseCache
from reasonir.llm.inprocess import InProcessLLM
from reasonir.llm.errors import MissingDependencyError
from reasonir.llm.prices import Price
from reasonir.llm.types import ChatRequest
from reasonir.llm.usage import UsageReport

log = logging.getLogger(__name__)
INSTALL_HINT = "pip install 'reasonir[openvino]' (openvino-genai)"
FORMAT = 1  # what f16_copy writes; a change here makes new files
# The KV cache the pipeline allocates, in GB: SmolLM2-135M holds about 23 kB a token in bf16, so 2 GB keep some
# 90,000 tokens (the synthesizer's 32 seed chains, SynthConfig.max_chains, of a 600-token prompt and 4 answers of up
# to 150 tokens need about 40,000, VL chains more); prompt blocks no request holds stay there for prefix caching
# until the space is needed
KV_CACHE_GB = 2
# When idle, the engine waits for the rest of a group after its first request (InProcessLLM.let_group_arrive); while
# the pipeline runs, requests that arrived during a decoding step are grouped before the next one
TOKEN_CACHE = 1024  # prompts kept tokenized: a seed's k candidates share one
# What a sampled request is truncated to besides its temperature and top_p: llama-server's defaults (its /props:
# top_k 40, min_p 0.05), which an OpenAI-style request leaves in force there. With top_p alone the candidates were
# worse: 0.44 of a seed's candidates failed the round trip against llama-server's 0.32-0.34 (10 SciFact seeds,
# benchmarks/results/synth_engines_openvino_amx_top_p_only.json)
SAMPLING_AS_LLAMA_SERVER = {"top_k": 40, "min_p": 0.05}
# LLMConfig.embedded_dtype (the transformers engine's torch dtype names) as OpenVINO's INFERENCE_PRECISION_HINT
PRECISION_OF_DTYPE = {"bfloat16": "bf16", "float32": "f32"}


def truncation_after_temperature(temperature: float, top_p: float, min_p: float) -> tuple[float, float]:
    """``(top_p, min_p)`` for OpenVINO that cut a token distribution as llama-server's ``top_p`` and ``min_p`` do.

    llama-server truncates the raw distribution and applies the temperature last (its ``samplers``: top_k, top_p,
    min_p, ..., temperature); OpenVINO GenAI applies the temperature first (top_k, temperature, min_p, top_p). A
    temperature below 1 sharpens the distribution, so the same values cut more there: on the synthesizer's
    contexts OpenVINO kept 4.1 tokens a step where llama-server kept 7.0 (entropy 0.73 against 0.91 nats), and its
    candidates came out longer, with more filler and repeats. min_p maps exactly (a token's ratio to the top one
    is raised to the power 1/T, so ``min_p ** (1/T)`` keeps the same tokens); top_p cannot (the kept mass depends on
    the whole distribution) and maps its tail the same way, ``1 - (1 - top_p) ** (1/T)``. Measured by
    benchmarks/bench_sampling_chains.py: the final distribution's mean total-variation distance from llama-server's
    0.0077 (the untranslated values: 0.047).

        >>> [round(x, 4) for x in truncation_after_temperature(0.8, 0.95, 0.05)]
        [0.9764, 0.0236]
        >>> truncation_after_temperature(1.0, 0.95, 0.05)
        (0.95, 0.05)
    """
    if temperature == 1.0:
        return top_p, min_p
    return 1.0 - (1.0 - top_p) ** (1.0 / temperature), min_p ** (1.0 / temperature)


def import_genai() -> Any:
    try:
        import openvino_genai
    except ImportError as exc:
        raise MissingDependencyError(f"the openvino engine needs OpenVINO GenAI: {INSTALL_HINT} ({exc})") from None
    return openvino_genai


def choose_precision(flags: frozenset[str] | None = None) -> str:
    """OpenVINO's ``INFERENCE_PRECISION_HINT`` for a CPU with ``flags`` (default: this one): ``bf16`` where there
    are bf16 units (AMX or AVX512-BF16), else ``f32`` (bf16 would be emulated)."""
    return "bf16" if bf16_supported(cpu_flags() if flags is None else flags) else "f32"


def f16_key(source: Path) -> str:
    """A short hash of what the F16 copy depends on: the source file and :data:`FORMAT`."""
    st = source.stat()
    text = f"{source.name}\0{st.st_size}\0{st.st_mtime_ns}\0format {FORMAT}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def f16_copy(source: Path, *, root: Path | None = None) -> Path:
    """``source`` (a GGUF with quantized weights) as an F16 GGUF in the cache, made once: every quantized tensor
    dequantized to float16, float32 tensors (the norms) and every metadata field copied as they are. Written beside
    its place and renamed into it, so a crash or a concurrent call never leaves half a file where a pipeline would
    read it."""
    import numpy as np

    try:
        import gguf
    except ImportError as exc:
        raise MissingDependencyError(f"the openvino engine reads the GGUF with gguf: {INSTALL_HINT} ({exc})") from None
    root = paths.models_cache_dir() / "openvino" if root is None else root
    target = root / f16_key(source) / (source.name.split(".", 1)[0] + ".F16.gguf")
    if target.is_file():
        return target
    start = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    try:
        reader = gguf.GGUFReader(source)
        writer = gguf.GGUFWriter(partial, reader.fields["general.architecture"].contents())
        for f in reader.fields.values():
            if f.name == "general.architecture" or f.name.startswith("GGUF."):
                continue  # the writer writes these itself
            if f.name == "general.file_type":
                writer.add_key_value(f.name, int(gguf.LlamaFileType.MOSTLY_F16), gguf.GGUFValueType.UINT32)
                continue
            kind = f.types[0]
            writer.add_key_value(f.name, f.contents(), kind,
                                 sub_type=f.types[-1] if kind == gguf.GGUFValueType.ARRAY else None)
        for t in reader.tensors:
            if t.tensor_type in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
                writer.add_tensor(t.name, np.array(t.data))
            else:
                writer.add_tensor(t.name, gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float16))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)
    log.info("wrote %s as F16 to %s in %.1f s", source.name, target, time.perf_counter() - start)
    return target


@dataclass
class _Pending:
    request: ChatRequest
    ids: tuple[int, ...]
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)

    @property
    def group_key(self) -> tuple:
        """Requests that can be one pipeline request: the same prompt, sampling (seeds aside) and JSON schema."""
        s, schema = self.request.sampling, self.request.json_schema
        return (self.ids, s.max_tokens, s.temperature, s.top_p,
                json.dumps(schema, sort_keys=True) if schema is not None else None)


class OpenVINOLLM(InProcessLLM):
    """The embedded model on OpenVINO GenAI in this process (see the module docstring). ``n_ctx`` bounds prompt
    plus answer; ``threads`` is OpenVINO's ``INFERENCE_NUM_THREADS`` (None: every core); ``precision`` its
    ``INFERENCE_PRECISION_HINT`` (None: :func:`choose_precision`)."""

    engine = "openvino"
    pending_type = _Pending

    def __init__(self, gguf: Path, *, alias: str, n_ctx: int = 2048, threads: int | None = None,
                 precision: str | None = None, cache: ResponseCache | None = None,
                 prices: Mapping[str, Price] | None = None, kv_cache_gb: int = KV_CACHE_GB) -> None:
        genai = import_genai()
        import openvino

        self._genai, self._ov = genai, openvino
        self.model = alias
        self.context_window = n_ctx
        self.cache = cache
        self.precision = precision or choose_precision()
        self.model_file = f16_copy(gguf)
        scheduler = genai.SchedulerConfig()
        scheduler.cache_size = kv_cache_gb
        scheduler.enable_prefix_caching = True
        start = time.perf_counter()
        self.pipeline = genai.ContinuousBatchingPipeline(
            str(self.model_file), scheduler, "CPU",
            {"INFERENCE_PRECISION_HINT": self.precision, "INFERENCE_NUM_THREADS": threads or os.cpu_count() or 1})
        self.load_seconds = time.perf_counter() - start
        self.tokenizer = self.pipeline.get_tokenizer()
        self._tokenizer_lock = threading.Lock()  # encode runs on the caller's thread, decode on the worker's
        self._end_ids = self._end_tokens()
        self._usage = UsageReport(prices)
        self.calls = 0  # pipeline requests made (tests and the benchmark read it)
        self.samples = 0  # answers those requests gave (samples / calls: how well a seed's candidates grouped)
        self._ids = itertools.count()
        self._tokens: dict[str, tuple[int, ...]] = {}
        self.start_worker()

    # ---- the prompt ---------------------------------------------------------------------------------------------
    def prompt(self, request: ChatRequest) -> tuple[int, ...]:
        """The request's messages through the model's chat template (read from the GGUF), as token ids (kept per
        prompt: a seed's candidates are tokenized once)."""
        key = json.dumps(request.messages, sort_keys=True, ensure_ascii=False)
        ids = self._tokens.get(key)
        if ids is None:
            with self._tokenizer_lock:
                text = self.tokenizer.apply_chat_template([dict(m) for m in request.messages],
                                                          add_generation_prompt=True)
                ids = tuple(int(i) for i in self.tokenizer.encode(text, add_special_tokens=False).input_ids.data[0])
            if len(self._tokens) >= TOKEN_CACHE:
                self._tokens.clear()
            self._tokens[key] = ids
        return ids

    # ---- the worker ---------------------------------------------------------------------------------------------
    def _take(self, idle: bool) -> list[list[_Pending]] | None:
        """The groups waiting now (None: closed). ``idle``: nothing is decoding, so wait for a request and give its
        group time to arrive; otherwise take what arrived during the last step, without waiting."""
        with self._wake:
            while idle and not self._pending and not self._closed:
                self._wake.wait()
            if self._closed:
                return None
            if not self._pending:
                return []
        if idle:
            self.let_group_arrive()
        return self.take_groups()

    def _serve(self) -> None:
        active: dict[int, tuple[Any, list[_Pending]]] = {}
        while True:
            groups = self._take(idle=not active)
            if groups is None:
                self._fail([g for _, g in active.values()] + [self._drain()], RuntimeError("the openvino engine "
                                                                                           "was closed"))
                return
            for group in groups:
                try:
                    rid = next(self._ids)
                    handle = self.pipeline.add_request(rid, self._ov.Tensor([list(group[0].ids)]),
                                                       self._config(group))
                    active[rid] = (handle, group)
                    self.calls += 1
                except Exception as exc:  # noqa: BLE001 - that group's requests get the error, the others go on
                    self._fail([group], exc)
            if not active:
                continue
            try:
                self.pipeline.step()
            except Exception as exc:  # noqa: BLE001 - every request in flight gets the error, the worker goes on
                self._fail([g for _, g in active.values()], exc)
                active.clear()
                continue
            for rid in [r for r, (h, _) in active.items() if h.get_status() != self._genai.GenerationStatus.RUNNING]:
                handle, group = active.pop(rid)
                self._finish(handle, group)

    def _drain(self) -> list[_Pending]:
        with self._wake:
            waiting, self._pending = self._pending, []
        return waiting

    @staticmethod
    def _fail(groups: Sequence[Sequence[_Pending]], exc: BaseException) -> None:
        for g in groups:
            for p in g:
                if not p.future.done():
                    p.future.set_exception(exc)

    def _config(self, group: Sequence[_Pending]) -> Any:
        """One pipeline request for ``group``: its sampling settings, its first seed, as many sequences as requests
        (one for greedy decoding: every request of a greedy group gets the same answer)."""
        s, schema = group[0].request.sampling, group[0].request.json_schema
        config = self._genai.GenerationConfig()
        config.max_new_tokens = s.max_tokens
        config.stop_token_ids = set(self._end_ids)
        config.apply_chat_template = False
        if s.temperature > 0:
            config.do_sample = True
            config.temperature = s.temperature
            config.top_k = SAMPLING_AS_LLAMA_SERVER["top_k"]
            config.top_p, config.min_p = truncation_after_temperature(s.temperature, s.top_p,
                                                                      SAMPLING_AS_LLAMA_SERVER["min_p"])
            config.num_return_sequences = len(group)
            config.rng_seed = int(s.seed or 0)
        else:
            config.do_sample = False
        if schema is not None:
            config.structured_output_config = self._genai.StructuredOutputConfig(json_schema=json.dumps(schema))
        return config

    def _finish(self, handle: Any, group: Sequence[_Pending]) -> None:
        status = handle.get_status()
        if status != self._genai.GenerationStatus.FINISHED:
            self._fail([group], RuntimeError(f"the openvino pipeline ended a request as {status}"))
            return
        outputs = list(handle.read_all())
        outputs = outputs * len(group) if len(outputs) == 1 else outputs  # greedy: one answer for all
        if len(outputs) != len(group):
            self._fail([group], RuntimeError(f"the openvino pipeline gave {len(outputs)} answers for {len(group)}"))
            return
        self.samples += len(group)
        for i, (p, out) in enumerate(zip(group, outputs)):
            ids = [int(t) for t in out.generated_ids if int(t) not in self._end_ids]
            with self._tokenizer_lock:
                text = self.tokenizer.decode(ids, skip_special_tokens=True)
            raw = {"text": text, "prompt_tokens": len(p.ids) if i == 0 else 0,  # the shared prompt, counted once
                   "completion_tokens": len(ids),
                   "finish_reason": "length" if out.finish_reason == self._genai.GenerationFinishReason.LENGTH
                   else "stop"}
            p.future.set_result(raw)

    def _end_tokens(self) -> set[int]:
        ends = {int(self.tokenizer.get_eos_token_id())}
        with self._tokenizer_lock:
            ids = self.tokenizer.encode("<|im_end|>", add_special_tokens=False).input_ids.data[0]
        if len(ids) == 1:  # a special token of this vocabulary (SmolLM2's turn end)
            ends.add(int(ids[0]))
        return ends
