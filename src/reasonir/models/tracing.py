"""The one traceable form of a sentence-transformers ``Transformer`` that the graph exporters take (ONNX in
:mod:`reasonir.models.backends`, OpenVINO in :mod:`reasonir.models.openvino_module`): its Hugging Face model as a
positional-input module returning the last hidden state, and a sample batch to trace it with."""
from __future__ import annotations

import copy
from typing import Any


def traceable(transformer: Any, names: list[str]) -> tuple[Any, tuple[Any, ...]]:
    """``(module, sample)``: a copy of ``transformer.model`` in fp32 eval mode (tracing must leave the caller's torch
    model exactly as it was) that takes the tokenizer's tensors ``names`` positionally and returns the last hidden
    state; and two texts of different lengths tokenized with padding, in the order of ``names``."""
    import torch

    hf_model = copy.deepcopy(transformer.model).float().eval()

    class LastHidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, inputs)), return_dict=True).last_hidden_state

    sample = transformer.tokenizer(["a short text", "a somewhat longer text, padded differently"], padding=True,
                                   return_tensors="pt")
    return LastHidden(hf_model), tuple(sample[n] for n in names)
