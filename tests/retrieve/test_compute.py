"""FLOPs accounting checked against hand computations for known models and inputs."""
from __future__ import annotations

import math

import pytest

from reasonir.data import Document, Query
from reasonir.testing import ScriptedLLM
from reasonir.retrieve import DenseRetriever, Pipeline, QueryRewriter, flops, llm_parameters
from reasonir.retrieve.compute import StageCompute, summarize

# all-MiniLM-L6-v2 by hand: BERT, vocab 30,522, 512 positions, 2 token types, hidden 384, 6 layers, FFN 1,536,
# plus the pooler (sentence-transformers loads BertModel with it)
EMBEDDINGS = 30_522 * 384 + 512 * 384 + 2 * 384 + 2 * 384  # word, position, type, LayerNorm
LAYER = 3 * (384 * 384 + 384) + (384 * 384 + 384) + 2 * 384 + (384 * 1536 + 1536) + (1536 * 384 + 384) + 2 * 384
MINILM_PARAMETERS = EMBEDDINGS + 6 * LAYER + (384 * 384 + 384)


def test_flops_rule_and_unknown_models():
    assert flops(1000, 7) == 14_000
    assert flops(None, 7) is None
    assert llm_parameters("SmolLM2-135M-Instruct") == llm_parameters("HuggingFaceTB/SmolLM2-135M-Instruct.gguf")
    assert llm_parameters("my-private-model") is None


def test_minilm_query_flops_match_hand_computation(tmp_path):
    # every word below is one WordPiece in MiniLM's vocabulary ("purr" would be two: pu ##rr)
    docs = [Document("d1", "cats sleep when they are tired"), Document("d2", "stock markets fell sharply")]
    pipe = Pipeline(DenseRetriever(cache_dir=tmp_path, show_progress=False)).index(docs)
    details = pipe.search_detailed([Query("q", "why do cats sleep")], k=2)
    cost = details.compute["q"]["encode_query"]
    # [CLS] why do cats sleep [SEP]: 6 tokens
    assert MINILM_PARAMETERS == 22_713_216
    assert cost["encoded_tokens"] == 6
    assert cost["flops"] == 2 * MINILM_PARAMETERS * 6
    # the corpus encoding is reported apart, in total and amortised over this call's one query
    corpus_tokens = details.corpus["encoded_tokens"]
    assert corpus_tokens == (1 + 6 + 1) + (1 + 4 + 1)
    assert details.corpus["flops"] == 2 * MINILM_PARAMETERS * corpus_tokens
    assert details.compute["q"]["encode_corpus"]["flops"] == details.corpus["flops"]
    summary = summarize(details.compute, details.seconds)
    assert summary["flops_per_query"] == cost["flops"]  # query time only
    assert summary["flops_per_query_with_corpus"] == cost["flops"] + details.corpus["flops"]


def test_llm_flops_count_prompt_and_generated_tokens_or_say_unknown():
    scripted = ScriptedLLM(lambda r: "one two three")  # ScriptedLLM counts 3 completion tokens, 0 prompt tokens
    known = QueryRewriter(scripted, budget=64, parameters=134_515_008)
    known([Query("q", "x")])
    assert known.compute["q"].completion_tokens == 3 and known.compute["q"].flops == 2 * 134_515_008 * 3
    unknown = QueryRewriter(scripted, budget=64)  # "scripted" is in no table: FLOPs unknown, not guessed
    unknown([Query("q", "x")])
    assert unknown.compute["q"].flops is None
    total = StageCompute()
    total.add(known.compute["q"])
    total.add(unknown.compute["q"])
    assert total.flops is None and total.completion_tokens == 6


def test_smollm2_parameter_table_matches_the_tensor_shapes_of_the_packaged_gguf():
    gguf = pytest.importorskip("gguf")
    from reasonir.llm.embedded import default_model_path

    reader = gguf.GGUFReader(default_model_path())
    parameters = sum(int(math.prod(int(d) for d in tensor.shape)) for tensor in reader.tensors)
    assert parameters == llm_parameters("SmolLM2-135M-Instruct")
