from __future__ import annotations

import pytest

from reasonir.data import Document, Query
from reasonir.retrieve import BM25Retriever, Pipeline, Retriever

DOCS = [Document("d1", "cats purr softly, cats purr"), Document("d2", "cats chase mice"), Document("d3", "dogs bark loudly")]


def synonyms(queries: list[Query]) -> list[Query]:
    return [Query(q.id, q.text.replace("feline", "cats"), q.excluded_ids) for q in queries]


def reverse(queries: list[Query], run):
    """A stand-in reranker: reverses each ranking (and sees the original queries)."""
    assert [q.text for q in queries] == ["feline", "feline"]
    return {qid: {d: -s for d, s in scores.items()} for qid, scores in run.items()}


def sneak_in_excluded(queries: list[Query], run):
    return {qid: {**scores, "d1": 1e9} for qid, scores in run.items()}


def test_pipeline_is_a_retriever_and_applies_query_transforms():
    p = Pipeline(BM25Retriever(), query_transforms=[synonyms]).index(DOCS)
    assert isinstance(p, Retriever)
    assert set(p.search([Query("q", "feline")])["q"]) == {"d1", "d2"}
    assert Pipeline(BM25Retriever()).index(DOCS).search([Query("q", "feline")]) == {"q": {}}


def test_rerankers_reorder_and_see_the_original_queries():
    base = Pipeline(BM25Retriever(), [synonyms]).index(DOCS)
    reranked = Pipeline(BM25Retriever(), [synonyms], [reverse]).index(DOCS)
    queries = [Query("a", "feline"), Query("b", "feline")]
    assert list(reranked.search(queries)["a"]) == list(reversed(list(base.search(queries)["a"])))


def test_no_stage_can_bring_back_an_excluded_document_and_k_is_kept():
    p = Pipeline(BM25Retriever(), [synonyms], [sneak_in_excluded]).index(DOCS)
    run = p.search([Query("q", "feline", excluded_ids=("d1",))], k=1)
    assert run == {"q": {"d2": pytest.approx(run["q"]["d2"])}}


def test_a_transform_that_changes_query_ids_is_rejected():
    renaming = lambda qs: [Query(q.id + "!", q.text) for q in qs]  # noqa: E731
    with pytest.raises(ValueError, match="ids"):
        Pipeline(BM25Retriever(), [renaming]).index(DOCS).search([Query("q", "cats")])
