"""Reranking: blend arithmetic, pointwise and listwise control flow (scripted LLM), the real embedded SmolLM2,
and a cross-encoder built from the packaged MiniLM body (no cross-encoder weights are available offline)."""
from __future__ import annotations

import json

import pytest

from reasonir.data import Document, Query
from reasonir.llm import ChatResult, LLMConfig, load_llm
from reasonir.testing import ScriptedLLM
from reasonir.retrieve import BM25Retriever, CrossEncoderReranker, LLMReranker, Pipeline, build_pipeline
from reasonir.retrieve.rerank import apply_permutation, blend

DOCS = [Document("a", "dogs bark at the mail carrier"), Document("b", "cats purr when they feel safe"),
        Document("c", "cows moo in the field"), Document("d", "cats sleep most of the day")]
RUN = {"q": {"a": 4.0, "b": 3.0, "c": 2.0, "d": 1.0}}
QUERY = [Query("q", "why do cats purr")]


def judge(request):
    text = request.messages[-1]["content"]
    return {"score": 5 if "purr when" in text else 3 if "cats sleep" in text else 0}


def test_blend_is_alpha_weighted_and_breaks_ties_by_the_retriever():
    out = blend({"x": 10.0, "y": 6.0, "z": 2.0, "w": 1.0}, {"x": 3, "y": 3, "z": 5}, alpha=0.5)
    assert out["x"] == pytest.approx(0.5 * 3 / 5 + 0.5 * 1.0)
    assert out["y"] == pytest.approx(0.5 * 3 / 5 + 0.5 * 0.5)  # same LLM score as x: the retriever breaks the tie
    assert out["z"] == pytest.approx(0.5 * 5 / 5 + 0.0)
    assert out["w"] < min(out["x"], out["y"], out["z"])  # below the reranked top k, in retriever order
    only_llm = blend({"x": 10.0, "y": 6.0}, {"x": 3, "y": 3}, alpha=1.0)
    assert only_llm["x"] == only_llm["y"] == 0.6


def test_pointwise_reranks_top_k_and_records_compute():
    llm = ScriptedLLM(judge)
    rr = LLMReranker(llm, k=3, task="scifact", documents=DOCS)
    out = rr(QUERY, RUN)
    assert sorted(out["q"], key=out["q"].get, reverse=True) == ["b", "a", "c", "d"]  # d was below the top 3
    assert len(llm.calls) == 3 and all(c.json_schema is not None for c in llm.calls)
    assert "a scientific claim" in llm.calls[0].messages[-1]["content"]  # the task's wording from tasks.json
    assert rr.compute["q"].requests == 3 and rr.failures == {}


def test_pointwise_failure_falls_back_to_the_retrievers_opinion():
    class Broken(ScriptedLLM):
        async def achat(self, request):
            return ChatResult(request, error="schema: 'score' is a required property")

    rr = LLMReranker(Broken(judge), k=2, documents=DOCS)
    out = rr(QUERY, RUN)
    assert list(out["q"]) == ["a", "b", "c", "d"] and len(rr.failures) == 2
    assert out["q"]["a"] == pytest.approx(1.0) and out["q"]["b"] == pytest.approx(0.0)


def test_listwise_sliding_windows_move_the_best_document_to_the_top():
    def ranker(request):
        text = request.messages[-1]["content"]
        lines = [line for line in text.splitlines() if line.startswith("[")]
        best = [i for i, line in enumerate(lines, 1) if "purr" in line]
        return {"ranking": best + [i for i in range(1, len(lines) + 1) if i not in best]}

    docs = [Document(f"n{i}", f"noise document {i}") for i in range(7)] + [Document("p", "cats purr")]
    run = {"q": {d.id: 10.0 - i for i, d in enumerate(docs)}}  # "p" retrieved last
    llm = ScriptedLLM(ranker)
    rr = LLMReranker(llm, k=8, mode="listwise", window=4, step=2, alpha=1.0, documents=docs)
    out = rr(QUERY, run)
    assert max(out["q"], key=out["q"].get) == "p"
    assert len(llm.calls) == 3  # windows start at 4, 2, 0


def test_apply_permutation_ignores_bad_numbers():
    assert apply_permutation(["a", "b", "c"], [2, 2, 0, 7, True]) == ["b", "a", "c"]


def test_build_pipeline_hands_the_corpus_to_the_reranker_and_reranks_deeper_than_k():
    pipe = build_pipeline(BM25Retriever(), llm=ScriptedLLM(judge), rerank="llm", rerank_k=4, task="scifact",
                          alpha=1.0)  # the LLM alone decides: b (5) over d (3), which BM25 ranks first
    pipe.index(DOCS)
    assert list(Pipeline(BM25Retriever()).index(DOCS).search([Query("q", "cats")], k=1)["q"]) == ["d"]
    details = pipe.search_detailed([Query("q", "cats")], k=1)
    assert list(details.run["q"]) == ["b"]  # retrieved 4 deep, reranked, cut to 1
    assert details.compute["q"]["rerank"]["requests"] == 2  # BM25 matched two documents for "cats"
    with pytest.raises(ValueError, match="need an llm"):
        build_pipeline(BM25Retriever(), rewrite=True)


def test_reranker_without_documents_says_how_to_give_them():
    with pytest.raises(RuntimeError, match="documents"):
        LLMReranker(ScriptedLLM(judge), k=2)(QUERY, RUN)


@pytest.fixture(scope="module")
def smollm(tmp_path_factory):
    with load_llm(LLMConfig(cache_path=str(tmp_path_factory.mktemp("llm") / "r.sqlite"))) as llm:
        yield llm


def test_real_embedded_llm_scores_each_document_0_to_5(smollm):
    rr = LLMReranker(smollm, k=3, task="scifact", documents=DOCS)
    out = rr(QUERY, RUN)
    assert set(out["q"]) == set(RUN["q"]) and rr.failures == {}  # the schema grammar keeps answers valid
    head = sorted(out["q"].values(), reverse=True)[:3]
    assert all(0.0 <= v <= 1.0 for v in head)
    cost = rr.compute["q"]
    assert cost.requests == 3 and cost.prompt_tokens > 3 * 40 and 0 < cost.completion_tokens <= 3 * 16
    assert cost.flops == 2 * 134_515_008 * (cost.prompt_tokens + cost.completion_tokens)


def test_real_embedded_llm_listwise_window(smollm):
    rr = LLMReranker(smollm, k=4, mode="listwise", window=4, step=2, documents=DOCS)
    out = rr(QUERY, RUN)
    assert set(out["q"]) == set(RUN["q"]) and rr.compute["q"].requests == 1


def test_cross_encoder_from_the_packaged_minilm_body_reranks_and_counts_flops():
    torch = pytest.importorskip("torch")
    from sentence_transformers import CrossEncoder

    from reasonir.models import resolve_model

    torch.manual_seed(0)
    model = CrossEncoder(resolve_model(None), num_labels=1, max_length=128)  # MiniLM body, fresh scoring head
    rr = CrossEncoderReranker(model, k=3, documents=DOCS)
    out = rr(QUERY, RUN)
    assert set(out["q"]) == set(RUN["q"]) and out["q"]["d"] < 0  # d below the reranked top 3
    params = sum(p.numel() for p in model.model.parameters())
    pair_tokens = [len(model.tokenizer(QUERY[0].text, d.text)["input_ids"]) for d in DOCS[:3]]
    assert rr.compute["q"].encoded_tokens == sum(pair_tokens)
    assert rr.compute["q"].flops == 2 * params * sum(pair_tokens)
    raw = dict(zip("abc", (float(s) for s in model.predict([(QUERY[0].text, d.text) for d in DOCS[:3]]))))
    lo, hi = min(raw.values()), max(raw.values())
    retriever_norm = {"a": 1.0, "b": 0.5, "c": 0.0}  # scores 4, 3, 2 min-max normalized
    for d in "abc":
        assert out["q"][d] == pytest.approx(0.5 * (raw[d] - lo) / (hi - lo) + 0.5 * retriever_norm[d], abs=1e-5)
