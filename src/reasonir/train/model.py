"""The model to fine-tune: loading it, the training defaults of its entry, and WiSE-FT's merge afterwards.

Example:
    >>> import torch
    >>> model = torch.nn.Linear(2, 1, bias=False)
    >>> base = copy_state(model)
    >>> with torch.no_grad():
    ...     _ = model.weight.fill_(1.0)
    >>> merge_weights(model, {"weight": torch.zeros(1, 2)}, 0.25)
    >>> model.weight.tolist()
    [[0.75, 0.75]]
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from reasonir.models import DEFAULT_ENCODER
from reasonir.optional import require
from reasonir.train.config import TrainConfig

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def load_base_model(config: TrainConfig) -> tuple[SentenceTransformer, bool]:
    """The model to fine-tune and whether it is an LLM backbone (bidirectional decoder)."""
    SentenceTransformer = require("sentence_transformers", "models", purpose="training").SentenceTransformer
    from reasonir.models import resolve_model
    from reasonir.models.bidirectional import SUPPORTED_MODEL_TYPES, build_llm_encoder, uses_reasonir_modules

    path = resolve_model(config.base_model)
    folder = Path(path)
    backbone = config.backbone
    if backbone == "auto":
        if folder.is_dir() and (folder / "modules.json").is_file():
            backbone = "sentence-transformer"
        else:
            from transformers import AutoConfig

            model_type = AutoConfig.from_pretrained(path).model_type
            backbone = "llm" if model_type in SUPPORTED_MODEL_TYPES else "sentence-transformer"
    if backbone == "llm":
        model = build_llm_encoder(
            path, max_seq_length=max(config.query_max_length, config.document_max_length),
            lora_rank=config.lora_rank, lora_dropout=config.lora_dropout,
        )
        return model, True
    # Our own LLM-encoder modules are trusted; any other custom code still needs the user's consent.
    trusted = uses_reasonir_modules(folder)
    return SentenceTransformer(path, trust_remote_code=trusted), trusted


def base_model_name(config: TrainConfig) -> str:
    """The base model as named in the training record and looked up in ``models/instructions.json``."""
    return config.base_model or DEFAULT_ENCODER


def apply_model_defaults(config: TrainConfig, is_llm: bool) -> None:
    """Fill the settings left to the base model (``None`` in ``config``) from its entry in
    ``models/instructions.json`` (:func:`reasonir.models.instructions.get_training_defaults`)."""
    from reasonir.models.instructions import get_training_defaults

    defaults = get_training_defaults(base_model_name(config), is_llm)
    config.resolve(defaults.temperature, defaults.learning_rate, defaults.min_steps, defaults.merge_base,
                   defaults.max_epochs)


def use_bf16(setting: bool | None) -> bool:
    """Whether training runs in bf16 autocast: ``setting`` when given, else where the device computes bf16 natively
    (a CUDA GPU that supports it, or a CPU with AVX512-BF16 / AMX: ``reasonir.hardware.bf16_supported``)."""
    if setting is not None:
        return setting
    import torch

    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    from reasonir.hardware import bf16_supported

    return bf16_supported()


def copy_state(model) -> dict:
    """A CPU copy of the model's floating-point weights (what :func:`merge_weights` mixes back)."""
    return {name: tensor.detach().to("cpu", copy=True) for name, tensor in model.state_dict().items()
            if tensor.is_floating_point()}


def merge_weights(model, base_state: dict, share: float) -> None:
    """In place: every floating-point weight becomes ``(1 - share) * fine-tuned + share * base`` (WiSE-FT,
    Wortsman et al., 2022: interpolating with the zero-shot weights keeps most of the fine-tuning gain and loses
    less where the fine-tuning data was narrow or noisy)."""
    import torch

    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name in base_state:
                tensor.mul_(1 - share).add_(base_state[name].to(tensor.device, tensor.dtype), alpha=share)
