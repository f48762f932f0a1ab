"""Query rewriting: control flow with a scripted LLM, then the real embedded SmolLM2."""
from __future__ import annotations

import pytest

from reasonir.data import Document, Query
from reasonir.llm import ChatResult, LLMConfig, load_llm
from reasonir.testing import ScriptedLLM
from reasonir.retrieve import BM25Retriever, Pipeline, QueryRewriter, llm_parameters

QUERIES = [Query("q1", "Why do cats purr?", ("d9",)), Query("q2", "What lowers inflation?")]


def test_rewrite_keeps_ids_and_excluded_ids_and_follows_the_budget():
    llm = ScriptedLLM(lambda r: "Essential problem: " + r.messages[-1]["content"].split("\n")[0])
    rewriter = QueryRewriter(llm, budget=128)
    out = rewriter(QUERIES)
    assert [q.id for q in out] == ["q1", "q2"] and out[0].excluded_ids == ("d9",)
    assert out[0].text == "Essential problem: Why do cats purr?" == rewriter.rewrites["q1"]
    request = llm.calls[0]
    assert request.sampling.max_tokens == 128 and request.tag == "rewrite"
    assert "about 96 words" in request.messages[-1]["content"]  # 128 tokens x 0.75 words per token


def test_append_mode_joins_the_rewrite_after_the_query():
    out = QueryRewriter(ScriptedLLM(lambda r: "draft"), budget=64, mode="append")(QUERIES[:1])
    assert out[0].text == "Why do cats purr?\ndraft"


@pytest.mark.parametrize("budget", [63, 4097])
def test_budget_outside_range_is_refused(budget):
    with pytest.raises(ValueError, match="64..4096"):
        QueryRewriter(ScriptedLLM(lambda r: ""), budget=budget)


def test_failed_or_empty_rewrite_keeps_the_original_query():
    class Failing(ScriptedLLM):
        async def achat(self, request):
            return ChatResult(request, error="gave up after 7 attempts")

    rewriter = QueryRewriter(Failing(lambda r: ""), budget=64)
    assert [q.text for q in rewriter(QUERIES)] == [q.text for q in QUERIES]
    assert set(rewriter.failures) == {"q1", "q2"} and rewriter.rewrites == {}
    empty = QueryRewriter(ScriptedLLM(lambda r: "   "), budget=64)
    assert empty(QUERIES[:1])[0].text == QUERIES[0].text and empty.failures == {"q1": "empty rewrite"}


def test_pipeline_reports_rewrites_and_rewrite_compute():
    docs = [Document("d1", "cats purr when content"), Document("d2", "central banks raise rates")]
    rewriter = QueryRewriter(ScriptedLLM(lambda r: "cats purr" if "cats" in r.messages[-1]["content"] else "rates"),
                             budget=64)
    details = Pipeline(BM25Retriever(), [rewriter]).index(docs).search_detailed(QUERIES, k=2)
    assert details.rewrites == {"q1": "cats purr", "q2": "rates"}
    assert details.compute["q1"]["rewrite"]["completion_tokens"] == 2
    assert {"rewrite", "retrieve"} <= set(details.seconds)
    assert next(iter(details.run["q2"])) == "d2"


@pytest.fixture(scope="module")
def smollm(tmp_path_factory):
    config = LLMConfig(cache_path=str(tmp_path_factory.mktemp("llm") / "responses.sqlite"))
    with load_llm(config) as llm:
        yield llm


def test_real_embedded_llm_rewrites_within_budget_and_counts_its_flops(smollm):
    rewriter = QueryRewriter(smollm, budget=64, mode="append")
    out = rewriter(QUERIES)
    params = llm_parameters(smollm.model)
    assert params == 134_515_008
    for q, new in zip(QUERIES, out):
        cost = rewriter.compute[q.id]
        assert rewriter.rewrites[q.id] and new.text.startswith(q.text)
        assert 0 < cost.completion_tokens <= 64 and cost.prompt_tokens > 20
        assert cost.flops == 2 * params * (cost.prompt_tokens + cost.completion_tokens)
    again = QueryRewriter(smollm, budget=64, mode="append")
    assert [q.text for q in again(QUERIES)] == [q.text for q in out]  # cached and greedy: the same rewrites
    assert all(c.cached == 1 for c in again.compute.values())


def test_prompts_are_data_files_a_user_can_replace(tmp_path):
    from reasonir.retrieve.prompts import PromptError

    (tmp_path / "rewrite.md").write_text("Explain {query} in {words} words or fewer.")
    llm = ScriptedLLM(lambda r: "ok")
    QueryRewriter(llm, budget=64, prompts=tmp_path)(QUERIES[:1])
    assert llm.calls[0].messages[-1]["content"] == "Explain Why do cats purr? in 48 words or fewer."
    (tmp_path / "rewrite.md").write_text("Explain {query} to {audience}.")
    with pytest.raises(PromptError, match="rewrite.md"):
        QueryRewriter(llm, budget=64, prompts=tmp_path)
