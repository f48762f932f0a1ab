"""The packaged SmolLM2 GGUF as a transformers model folder, made once and cached, for ``transformers serve``.

``transformers serve`` cannot serve the GGUF itself (transformers 5.24: ``serve DIR:FILE.gguf`` fails at
``config.architectures[0]``, which a GGUF-loaded config leaves unset), and a GGUF-loaded model refuses
``save_pretrained`` ("quantized with gguf and is not serializable"). So the GGUF is loaded (dequantized), its
tensors are copied into a plain ``LlamaForCausalLM`` built from the same config, and that is saved with the
tokenizer. Dequantized Q4_1 is the same model: every weight keeps the value llama.cpp computes from the file.

The folder is ``$REASONIR_CACHE/models/transformers/<key>/SmolLM2-135M-Instruct``, where ``<key>`` hashes the
source file (name, size, modification time), the dtype and the transformers version: a changed file or a new
transformers makes a new folder. It is written to a temporary folder beside it and renamed into place, so a crash
or a concurrent converter never leaves half a model where a server would load it. The folder's last name is the
model's id on the server (``transformers serve`` names a local model by the path it was given, and reasonir runs
it from the key folder), so clients ask for ``SmolLM2-135M-Instruct`` whichever engine serves it.

    >>> conversion_key(Path("/nonexistent.gguf"), "bfloat16", transformers_version="5.24.0")[:7]
    'missing'
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from reasonir import paths

log = logging.getLogger(__name__)
Dtype = Literal["bfloat16", "float32"]
DONE_MARK = "reasonir-conversion.json"  # written last inside the temporary folder: a folder without it is partial
FORMAT = 1  # what _convert writes; a change here makes new folders
# The dtype every engine reads the folder in: float32 holds the dequantized Q4_1 weights exactly, and an engine that
# computes in bf16 casts at load (the same rounding as a bf16 conversion), so one folder serves transformers and
# ctranslate2 alike (a second, bf16 conversion cost 17 s on 2 cores)
STORED_DTYPE: Dtype = "float32"


@dataclass(frozen=True)
class Conversion:
    """Where the converted model is, and whether this call made it (``seconds`` it took) or found it."""

    folder: Path
    made: bool
    seconds: float

    @property
    def key_folder(self) -> Path:
        """The folder to run the server in: ``folder``'s last name is then the model's id."""
        return self.folder.parent


def conversion_key(source: Path, dtype: Dtype, *, transformers_version: str | None = None) -> str:
    """A short hash of what the converted weights depend on; ``missing-...`` for a source that does not exist."""
    if transformers_version is None:
        import transformers

        transformers_version = transformers.__version__
    try:
        st = source.stat()
        ident = f"{source.name}\0{st.st_size}\0{st.st_mtime_ns}"
    except OSError:
        return "missing-" + source.name
    text = f"{ident}\0{dtype}\0transformers {transformers_version}\0format {FORMAT}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def converted_folder(source: Path, name: str, dtype: Dtype, root: Path | None = None) -> Path:
    root = paths.models_cache_dir() / "transformers" if root is None else root
    return root / conversion_key(source, dtype) / name


def convert_gguf(source: Path, name: str, dtype: Dtype, *, root: Path | None = None) -> Conversion:
    """``source`` (a Llama-architecture GGUF) as a transformers folder named ``name`` in the cache (see module
    docstring): found when already made, else converted (about 20 s for SmolLM2-135M on 2 busy cores)."""
    folder = converted_folder(source, name, dtype, root)
    if (folder / DONE_MARK).is_file():
        return Conversion(folder, False, 0.0)
    start = time.perf_counter()
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=folder.parent))
    try:
        _convert(source, partial, dtype)
        (partial / DONE_MARK).write_text(json.dumps({"source": str(source), "dtype": dtype}) + "\n")
        try:
            os.rename(partial, folder)
        except OSError:  # another process renamed its copy first (or a stale partial folder): keep theirs if done
            if not (folder / DONE_MARK).is_file():
                shutil.rmtree(folder, ignore_errors=True)
                os.rename(partial, folder)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    seconds = time.perf_counter() - start
    log.info("converted %s to %s (%s) in %.1f s", source.name, folder, dtype, seconds)
    return Conversion(folder, True, seconds)


def _convert(source: Path, out: Path, dtype: Dtype) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a bar per tensor in a job's log otherwise
    torch_dtype = getattr(torch, dtype)
    loaded = AutoModelForCausalLM.from_pretrained(str(source.parent), gguf_file=source.name, dtype=torch_dtype)
    config = loaded.config
    if getattr(config, "model_type", None) != "llama":
        raise ValueError(f"{source.name}: expected a Llama-architecture GGUF, got {config.model_type!r}")
    config.architectures = ["LlamaForCausalLM"]  # unset by the GGUF loader; transformers serve reads it
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # what makes save_pretrained refuse
    with torch.device("meta"):
        plain = LlamaForCausalLM(config)
    missing, unexpected = plain.load_state_dict(loaded.state_dict(), strict=False, assign=True)
    # lm_head is tied to the embeddings in SmolLM2: the only key a GGUF may not carry
    if unexpected or set(missing) - {"lm_head.weight"}:
        raise ValueError(f"{source.name}: tensors do not match LlamaForCausalLM (missing {missing}, unexpected "
                         f"{unexpected})")
    plain.tie_weights()
    # OpenAI semantics: a request's temperature samples (transformers' default is greedy whatever the temperature);
    # a request with temperature 0 turns sampling off again
    plain.generation_config.do_sample = True
    plain.to(torch_dtype).save_pretrained(out)
    AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name).save_pretrained(out)
    del loaded, plain
