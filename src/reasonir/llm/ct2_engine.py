"""The embedded SmolLM2 run in this process by CTranslate2 (``ctranslate2.Generator``), no server.

Why: a seed's HQ candidates are k requests with the same prompt and different sampling seeds. An OpenAI-style
server evaluates that prompt per request (llama-server's slot pinning saves it only when the candidates land on
the slot that already holds it). Here requests that arrive together are grouped by prompt and sampling settings,
and each group is one ``generate_batch`` call whose ``static_prompt`` is the shared prompt: it is evaluated once
and its k continuations are sampled as one batch (``num_hypotheses`` would evaluate the prompt k times: see
:meth:`CT2LLM.generate`).

The model: the packaged GGUF is converted once to a transformers folder (``reasonir.llm.hf_convert``, float32),
and that folder once more by ``ctranslate2.converters.TransformersConverter`` into
``$REASONIR_CACHE/models/ctranslate2/<key>/<alias>``, where ``<key>`` hashes the transformers folder, the weight
type and the ctranslate2 version (a new ctranslate2 makes a new folder). The compute type is
:func:`choose_compute_type`'s: bfloat16 on a CPU with bf16 units, int8 weights with float32 activations
(``int8_float32``) on one with int8 dot-product units (VNNI), float32 otherwise (on an AVX2-only EPYC, 12 samples
of 64 tokens after a 521-token prompt took 27 s in float32 and 38 s in int8_float32).

Same contract as every backend (``reasonir.llm.types.LLM``): the response cache is looked up per request (its key
includes the request's seed, so a resumed job finds each candidate), usage counts a shared prompt's tokens once
(on the group's first answer) and the completion tokens of every sample. What differs from an OpenAI endpoint:
JSON schemas are not enforced (the prompt's own request for JSON is parsed back, as with ``transformers serve``),
and one sampling seed serves a whole call (the first request's): a rerun of the same job reproduces its answers
only when the same requests arrive together again.

    >>> choose_compute_type(frozenset({"avx2"}), {"int8", "int8_float32", "float32"})
    'float32'
    >>> choose_compute_type(frozenset({"avx2", "avx_vnni"}), {"int8", "int8_float32", "float32"})
    'int8_float32'
    >>> choose_compute_type(frozenset({"avx512_bf16"}), {"int8", "float32", "bfloat16", "int8_bfloat16"})
    'bfloat16'
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasonir import paths
from reasonir.hardware import bf16_supported, cpu_flags, int8_dot_supported
from reasonir.llm.cache import ResponseCache
from reasonir.llm.inprocess import InProcessLLM
from reasonir.llm.errors import MissingDependencyError
from reasonir.llm.prices import Price
from reasonir.llm.types import ChatRequest
from reasonir.llm.usage import UsageReport

log = logging.getLogger(__name__)
INSTALL_HINT = "pip install 'reasonir[ct2]' (ctranslate2>=4.0)"
DONE_MARK = "reasonir-ct2.json"  # written last inside the temporary folder: a folder without it is partial
# Prompt groups taken from the queue at once (each is its own generate_batch call: the static prompt is per call)
MAX_PROMPTS_PER_CALL = 4
TOKEN_CACHE = 1024  # prompts kept tokenized: a seed's k candidates share one


def import_ct2() -> Any:
    try:
        import ctranslate2
    except ImportError as exc:
        raise MissingDependencyError(f"the ct2 engine needs CTranslate2: {INSTALL_HINT} ({exc})") from None
    return ctranslate2


def choose_compute_type(flags: frozenset[str] | None = None, supported: set[str] | None = None) -> str:
    """The compute type for a CPU with ``flags`` where ctranslate2 offers ``supported`` (default: this CPU and
    ``ctranslate2.get_supported_compute_types("cpu")``): bf16 where there are bf16 units, int8 weights with float32
    activations where there are int8 dot-product units, else float32 (without VNNI, int8 products go through
    saturating u8 x s8 instructions plus a quantization of every activation, and were slower, see above)."""
    flags = cpu_flags() if flags is None else flags
    if supported is None:
        supported = set(import_ct2().get_supported_compute_types("cpu"))
    if bf16_supported(flags) and "bfloat16" in supported:
        return "bfloat16"
    if int8_dot_supported(flags) and "int8_float32" in supported:
        return "int8_float32"
    return "float32" if "float32" in supported else "default"


def weight_type(compute_type: str) -> str:
    """The type the converted weights are stored in for ``compute_type`` (int8 for any int8 compute type)."""
    return "int8" if compute_type.startswith("int8") else compute_type


def ct2_key(transformers_folder: Path, quantization: str, ct2_version: str) -> str:
    """A short hash of what the converted model depends on: the source folder's weights, the weight type and the
    ctranslate2 version."""
    try:
        st = (transformers_folder / "model.safetensors").stat()
        ident = f"{transformers_folder}\0{st.st_size}\0{st.st_mtime_ns}"
    except OSError:
        ident = str(transformers_folder)
    text = f"{ident}\0{quantization}\0ctranslate2 {ct2_version}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Converted:
    folder: Path  # the ctranslate2 model
    tokenizer: Path  # the transformers folder (tokenizer and chat template)
    seconds: float  # spent converting in this call (0: found in the cache)


def converted_model(gguf: Path, alias: str, quantization: str, *, root: Path | None = None) -> Converted:
    """The ctranslate2 model for ``gguf`` with ``quantization`` weights, from the cache or made now (the GGUF to a
    transformers folder, then that to ctranslate2; about 30 s for SmolLM2-135M on 2 busy cores)."""
    from reasonir.llm.hf_convert import STORED_DTYPE, convert_gguf

    ct2 = import_ct2()
    start = time.perf_counter()
    source = convert_gguf(gguf, alias, STORED_DTYPE).folder
    root = paths.models_cache_dir() / "ctranslate2" if root is None else root
    folder = root / ct2_key(source, quantization, ct2.__version__) / alias
    if not (folder / DONE_MARK).is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{alias}.", suffix=".partial", dir=folder.parent))
        try:
            from ctranslate2.converters import TransformersConverter

            TransformersConverter(str(source), low_cpu_mem_usage=True).convert(str(partial), quantization=quantization,
                                                                              force=True)
            (partial / DONE_MARK).write_text(json.dumps({"source": str(source), "quantization": quantization,
                                                         "ctranslate2": ct2.__version__}) + "\n")
            try:
                os.rename(partial, folder)
            except OSError:  # another process renamed its copy first: keep theirs if it is complete
                if not (folder / DONE_MARK).is_file():
                    shutil.rmtree(folder, ignore_errors=True)
                    os.rename(partial, folder)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        log.info("converted %s to ctranslate2 (%s) in %s", source, quantization, folder)
    return Converted(folder, source, time.perf_counter() - start)


@dataclass
class _Pending:
    request: ChatRequest
    tokens: list[str]
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)

    @property
    def group_key(self) -> tuple:
        """Requests that can share one prompt evaluation: the same tokens and sampling (seeds aside)."""
        s = self.request.sampling
        return (tuple(self.tokens), s.max_tokens, s.temperature, s.top_p)


class CT2LLM(InProcessLLM):
    """The embedded model on ctranslate2 in this process (see the module docstring). ``n_ctx`` bounds prompt plus
    answer; ``threads`` is ctranslate2's ``intra_threads`` (None: every core)."""

    engine = "ct2"
    pending_type = _Pending

    def __init__(self, gguf: Path, *, alias: str, n_ctx: int = 2048, threads: int | None = None,
                 compute_type: str | None = None, cache: ResponseCache | None = None,
                 prices: Mapping[str, Price] | None = None, max_prompts: int = MAX_PROMPTS_PER_CALL) -> None:
        ct2 = import_ct2()
        from transformers import AutoTokenizer

        self.model = alias
        self.context_window = n_ctx
        self.cache = cache
        self.compute_type = compute_type or choose_compute_type()
        self.converted = converted_model(gguf, alias, weight_type(self.compute_type))
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.converted.tokenizer))
        self.generator = ct2.Generator(str(self.converted.folder), device="cpu", compute_type=self.compute_type,
                                       intra_threads=threads or os.cpu_count() or 1)
        self._ct2 = ct2
        self._usage = UsageReport(prices)
        self.max_prompts = max_prompts
        self.calls = 0  # generate_batch calls made (tests and the benchmark read it)
        self.samples = 0  # answers those calls sampled (samples / calls: how well a seed's candidates grouped)
        self._tokens: dict[str, list[str]] = {}
        self.start_worker()

    # ---- the prompt ---------------------------------------------------------------------------------------------
    def prompt(self, request: ChatRequest) -> list[str]:
        """The request's messages through the model's chat template, as the tokens ctranslate2 reads (kept per
        prompt: a seed's candidates are tokenized once)."""
        key = json.dumps(request.messages, sort_keys=True, ensure_ascii=False)
        tokens = self._tokens.get(key)
        if tokens is None:
            text = self.tokenizer.apply_chat_template([dict(m) for m in request.messages], tokenize=False,
                                                      add_generation_prompt=True)
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            tokens = self.tokenizer.convert_ids_to_tokens(ids)
            if len(self._tokens) >= TOKEN_CACHE:
                self._tokens.clear()
            self._tokens[key] = tokens
        return tokens

    # ---- the worker ---------------------------------------------------------------------------------------------
    def _take(self) -> list[list[_Pending]] | None:
        """The groups of the next turn (None: closed): wait for a request, give its group time to arrive
        (:meth:`InProcessLLM.let_group_arrive`), then take the oldest ``max_prompts`` groups."""
        with self._wake:
            while not self._pending and not self._closed:
                self._wake.wait()
            if not self._pending:
                return None
        self.let_group_arrive()
        return self.take_groups(self.max_prompts)

    def _serve(self) -> None:
        while True:
            groups = self._take()
            if groups is None:
                return
            try:
                answers = self.generate(groups)
            except Exception as exc:  # noqa: BLE001 - every waiting request gets the error, the worker goes on
                for g in groups:
                    for p in g:
                        if not p.future.done():
                            p.future.set_exception(exc)
                continue
            for g, raws in zip(groups, answers):
                for p, raw in zip(g, raws):
                    p.future.set_result(raw)

    def generate(self, groups: Sequence[Sequence[_Pending]]) -> list[list[dict[str, Any]]]:
        """Each group in one ``generate_batch`` call: its prompt but the last token as the call's ``static_prompt``
        (evaluated once, at batch size 1, its state then copied to every sample), the last token starting each of
        ``len(group)`` samples. Not ``num_hypotheses``: with sampling, ctranslate2 repeats the whole prompt per
        hypothesis before evaluating it (12 hypotheses of a 521-token prompt: 187 s against 27 s this way)."""
        return [self._one_group(g) for g in groups]

    def _one_group(self, group: Sequence[_Pending]) -> list[dict[str, Any]]:
        s = group[0].request.sampling
        if s.seed is not None:
            self._ct2.set_random_seed(int(s.seed))
        greedy = s.temperature <= 0
        kwargs: dict[str, Any] = {"sampling_topk": 1} if greedy else {
            "sampling_topk": 0, "sampling_topp": s.top_p, "sampling_temperature": s.temperature}
        tokens = group[0].tokens
        if len(tokens) > 1:  # a static prompt is cached by ctranslate2 only when asked: not here (one per seed)
            kwargs.update(static_prompt=tokens[:-1], cache_static_prompt=False)
        results = self.generator.generate_batch(
            [tokens[-1:] if len(tokens) > 1 else tokens] * len(group), max_length=s.max_tokens,
            include_prompt_in_result=False, return_end_token=False, end_token=self._end_tokens(), **kwargs)
        self.calls += 1
        self.samples += len(group)
        raws = []
        for i, result in enumerate(results):
            ids = result.sequences_ids[0]
            raws.append({"text": self.tokenizer.decode(ids, skip_special_tokens=True),
                         "prompt_tokens": len(tokens) if i == 0 else 0,  # the shared prompt, counted once
                         "completion_tokens": len(ids),
                         "finish_reason": "length" if len(ids) >= s.max_tokens else "stop"})
        return raws

    def _end_tokens(self) -> list[str]:
        ends = {t for t in (self.tokenizer.eos_token, "<|im_end|>") if t and t in self.tokenizer.get_vocab()}
        return sorted(ends)
