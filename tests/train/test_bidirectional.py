"""Decoder LLMs as encoders: attention really is bidirectional, the instruction is left out of the mean pooling,
the module saves/loads and trains through reasonir's trainer. Tiny random configurations, no weights."""
from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, MistralConfig, Qwen2Config

from reasonir.models.bidirectional import (
    BidirectionalTransformer,
    InstructionMeanPooling,
    build_llm_encoder,
    gritlm_format,
    load_reasonir_8b,
    save_tiny_decoder,
)


def _hidden(module, texts: list[str], change_at: int | None = None) -> tuple[torch.Tensor, dict]:
    features = module.preprocess(texts)
    if change_at is not None:
        features = {**features, "input_ids": features["input_ids"].clone()}
        features["input_ids"][0, change_at] = 2000  # another word piece
    with torch.no_grad():
        return module.forward(dict(features))["token_embeddings"], features


@pytest.mark.parametrize("config_cls", [LlamaConfig, Qwen2Config, MistralConfig])
def test_a_later_token_changes_an_earlier_tokens_state(config_cls, tmp_path):
    folder = save_tiny_decoder(config_cls, tmp_path)
    module = BidirectionalTransformer(folder)
    text = ["the pigeonhole principle says some box holds two items"]
    before, features = _hidden(module, text)
    last = int(features["attention_mask"][0].sum()) - 2  # the last word piece before [SEP]
    after, _ = _hidden(module, text, change_at=last)
    assert (after[0, 1] - before[0, 1]).abs().max() > 1e-4  # token 1 saw the change at the end

    # control: the same weights with causal attention cannot see the future
    from transformers import AutoModel

    causal = AutoModel.from_pretrained(folder)
    ids = features["input_ids"]
    changed = ids.clone()
    changed[0, last] = 2000
    with torch.no_grad():
        a = causal(input_ids=ids).last_hidden_state
        b = causal(input_ids=changed).last_hidden_state
    assert torch.allclose(a[0, :last], b[0, :last], atol=1e-6)


@pytest.fixture(scope="module")
def llama_encoder(tiny_llama):
    return build_llm_encoder(tiny_llama, normalize=False)


def test_instruction_tokens_are_left_out_of_the_mean(llama_encoder):
    backbone, pooling = llama_encoder[0], llama_encoder[1]
    assert isinstance(pooling, InstructionMeanPooling)
    instruction, text = "Retrieve passages that help answer the math problem", "how many guests share a birthday"
    formatted = gritlm_format(text, instruction)
    features = llama_encoder.preprocess([formatted, text])
    prefix = gritlm_format("", instruction)
    n_prefix = 1 + len(backbone.tokenizer(prefix, add_special_tokens=False)["input_ids"])  # [CLS] + prefix
    n_text = len(backbone.tokenizer(text, add_special_tokens=False)["input_ids"])
    mask = features["embed_mask"]
    assert mask[0, :n_prefix].sum() == 0 and mask[0, n_prefix : n_prefix + n_text].all()
    assert torch.equal(mask[1], features["attention_mask"][1])  # no marker: the whole text is pooled

    with torch.no_grad():
        out = llama_encoder.forward(dict(features))
    tokens, attention = out["token_embeddings"][0], features["attention_mask"][0].bool()
    expected = tokens[n_prefix:][attention[n_prefix:]].mean(dim=0)
    assert torch.allclose(out["sentence_embedding"][0], expected, atol=1e-5)
    with_prompt = tokens[attention].mean(dim=0)
    assert not torch.allclose(out["sentence_embedding"][0], with_prompt, atol=1e-4)


def test_saves_and_loads_as_a_sentence_transformer(llama_encoder, tmp_path):
    from sentence_transformers import SentenceTransformer

    llama_encoder.save(str(tmp_path))
    again = SentenceTransformer(str(tmp_path), trust_remote_code=True)  # reasonir's module classes
    texts = [gritlm_format("entropy rises", "Find physics"), "a document"]
    assert torch.allclose(torch.tensor(again.encode(texts)), torch.tensor(llama_encoder.encode(texts)), atol=1e-5)
    assert again[0].model.config.is_causal is False


def test_lora_trains_only_adapters_and_saves_a_full_model(rows_file, tiny_llama, tmp_path):
    from sentence_transformers import SentenceTransformer

    from reasonir.train import TrainConfig, fit

    model = build_llm_encoder(tiny_llama, lora_rank=4)
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name for name in trainable)
    dropouts = {type(m).__name__ for name, m in model.named_modules() if name.endswith("lora_dropout.default")}
    assert dropouts == {"Dropout"}  # the default, 0.05
    no_dropout = build_llm_encoder(tiny_llama, lora_rank=4, lora_dropout=0.0)
    assert {type(m).__name__ for name, m in no_dropout.named_modules()
            if name.endswith("lora_dropout.default")} == {"Identity"}  # peft keeps no copy of the input

    out = tmp_path / "lora"
    fit(TrainConfig(data=[str(rows_file)], output_dir=out, base_model=tiny_llama, lora_rank=4, batch_size=4,
                    query_max_length=32, document_max_length=32, max_steps=2, learning_rate=1e-2, save_steps=1000),
        log=lambda _: None)
    merged = SentenceTransformer(str(out), trust_remote_code=True)
    base = build_llm_encoder(tiny_llama)
    assert not any("lora_" in name for name, _ in merged.named_parameters())
    texts = ["<|embed|>\nentropy rises"]
    assert not torch.allclose(torch.tensor(merged.encode(texts)), torch.tensor(base.encode(texts)), atol=1e-5)


def test_llm_backbone_trains_with_gritlm_instructions(rows_file, tiny_llama, tmp_path):
    from sentence_transformers import SentenceTransformer

    from reasonir.train import TrainConfig, fit

    out = tmp_path / "llm"
    result = fit(TrainConfig(data=[str(rows_file)], output_dir=out, base_model=tiny_llama, batch_size=4,
                             query_max_length=32, document_max_length=32, max_steps=2, logging_steps=1,
                             learning_rate=1e-3, save_steps=1000), log=lambda _: None)
    assert result.steps == 2 and all(loss > 0 for _, loss in result.loss_history)
    model = SentenceTransformer(str(out), trust_remote_code=True)
    assert isinstance(model[0], BidirectionalTransformer)
    assert model.prompts["document"] == "<|embed|>\n"  # GritLM format was chosen for the decoder


def test_reasonir_8b_without_weights_says_where_to_get_them(tmp_path):
    with pytest.raises(OSError, match="ReasonIR-8B weights not found"):
        load_reasonir_8b(tmp_path / "missing")
