"""The ONNX Runtime stand-in for a Hugging Face encoder inside sentence-transformers (see :mod:`.backends`).

Example:
    >>> from reasonir.models import load_encoder
    >>> type(load_encoder(backend="onnx")[0].model).__name__  # doctest: +SKIP
    'OnnxTransformer'
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from reasonir.optional import require


class OnnxTransformer(torch.nn.Module):
    """Stands in for the Hugging Face model inside sentence-transformers' ``Transformer`` module: takes the
    tokenizer's tensors, runs the ONNX graph, returns ``{"last_hidden_state": tensor}``."""

    def __init__(self, path: str | Path, config: Any, *, input_names: list[str]) -> None:
        super().__init__()
        ort = require("onnxruntime", "onnx", purpose="ONNX encoding")
        options = ort.SessionOptions()
        # torch's thread setting (``reasonir serve --threads``, torch.set_num_threads) governs this backend too
        options.intra_op_num_threads = torch.get_num_threads()
        # Idle threads sleep instead of spinning: on 2 cores shared with other work, spinning took cycles the
        # working threads needed (measured: int8 13.2 vs 6.9 passages/s on the first batch, equal once warm)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.config, self.path, self.input_names = config, Path(path), input_names
        self.exported_now = False
        self.register_buffer("_device_marker", torch.empty(0), persistent=False)  # .device for sentence-transformers

    def forward(self, input_ids: Any = None, attention_mask: Any = None, token_type_ids: Any = None,
                **_: Any) -> dict[str, Any]:
        given = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
        if given["token_type_ids"] is None and "token_type_ids" in self.input_names:
            given["token_type_ids"] = torch.zeros_like(input_ids)
        feed = {name: given[name].cpu().numpy().astype("int64", copy=False) for name in self.input_names}
        hidden = self.session.run(["last_hidden_state"], feed)[0]
        return {"last_hidden_state": torch.from_numpy(hidden)}
