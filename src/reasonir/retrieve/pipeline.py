"""One retrieval object that later stages wrap: query transforms before retrieval, run transforms after.

A query transform (e.g. LLM query rewriting) maps queries to queries and must keep their ids; a run transform
(e.g. a reranker) maps ``(original queries, run) -> run``. Rerankers see the user's original queries, not the
rewritten ones. Excluded ids of the original queries are removed and the run cut to ``k`` at the end, so no stage
can bring back a document BRIGHT excludes.

Example:
    >>> from reasonir.retrieve import BM25Retriever
    >>> docs = [Document("d1", "cats purr"), Document("d2", "dogs bark")]
    >>> plain = Pipeline(BM25Retriever()).index(docs)
    >>> plain.search([Query("q", "feline")])
    {'q': {}}
    >>> to_cats = lambda qs: [Query(q.id, q.text.replace("feline", "cats"), q.excluded_ids) for q in qs]
    >>> list(Pipeline(BM25Retriever(), query_transforms=[to_cats]).index(docs).search([Query("q", "feline")])["q"])
    ['d1']
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reasonir.data.records import Document, Query
from reasonir.retrieve.base import Retriever, Run, top_k_without_excluded

QueryTransform = Callable[[list[Query]], list[Query]]
RunTransform = Callable[[list[Query], Run], Run]


@dataclass
class Pipeline:
    retriever: Retriever
    query_transforms: Sequence[QueryTransform] = ()
    rerankers: Sequence[RunTransform] = ()

    def index(self, documents: Sequence[Document]) -> Pipeline:
        self.retriever.index(documents)
        return self

    def search(self, queries: Sequence[Query], k: int = 1000) -> Run:
        original = list(queries)
        transformed = original
        for transform in self.query_transforms:
            transformed = transform(transformed)
            if [q.id for q in transformed] != [q.id for q in original]:
                raise ValueError(f"query transform {transform!r} changed the query ids")
        run = self.retriever.search(transformed, k=k)
        for rerank in self.rerankers:
            run = rerank(original, run)
        out: Run = {}
        for q in original:
            ranked = sorted(run.get(q.id, {}).items(), key=lambda item: (-item[1], item[0]))
            out[q.id] = top_k_without_excluded(q, ranked, k)
        return out
