"""One retrieval object that later stages wrap: query transforms before retrieval, run transforms after.

A query transform (e.g. :class:`~reasonir.retrieve.rewrite.QueryRewriter`) maps queries to queries and must keep
their ids; a run transform (e.g. :class:`~reasonir.retrieve.rerank.LLMReranker`) maps ``(original queries, run)
-> run``. Rerankers see the user's original queries, not the rewritten ones, and get the corpus from
:meth:`Pipeline.index` (or from a saved index, see :func:`build_pipeline`). Excluded ids of the original queries
are removed and the run cut to ``k`` at the end, so no stage can bring back a document BRIGHT excludes.

:meth:`Pipeline.search_detailed` also returns the rewrites, the compute of every stage per query (tokens, FLOPs;
see :mod:`reasonir.retrieve.compute`) and the wall time of every stage.

Example:
    >>> from reasonir.retrieve import BM25Retriever
    >>> docs = [Document("d1", "cats purr"), Document("d2", "dogs bark")]
    >>> plain = Pipeline(BM25Retriever()).index(docs)
    >>> plain.search([Query("q", "feline")])
    {'q': {}}
    >>> to_cats = lambda qs: [Query(q.id, q.text.replace("feline", "cats"), q.excluded_ids) for q in qs]
    >>> list(Pipeline(BM25Retriever(), query_transforms=[to_cats]).index(docs).search([Query("q", "feline")])["q"])
    ['d1']
    >>> plain.search_detailed([Query("q", "cats")]).compute["q"]["encode_query"]["flops"]  # BM25: no model
    0
"""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from reasonir.data.records import Document, Query
from reasonir.retrieve.base import (DocumentLookup, Encoding, Fusion, Retriever, Run, Stored, document_text, members,
                                    top_k_without_excluded)
from reasonir.retrieve.compute import StageCompute, count_tokens, encoder_parameters, flops
from reasonir.retrieve.scoring import ranked
from reasonir.retrieve.steps import Accounted, QueryTransform, Reranker, Rewriting, RunTransform

RerankKind = Literal["none", "llm", "cross-encoder"]


@dataclass
class SearchDetails:
    """What :meth:`Pipeline.search_detailed` returns."""

    run: Run
    rewrites: dict[str, str] = field(default_factory=dict)  # query id -> rewritten text (empty: no rewriting)
    compute: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # qid -> stage -> StageCompute dict
    seconds: dict[str, float] = field(default_factory=dict)  # stage -> wall seconds for the whole call
    corpus: dict[str, Any] = field(default_factory=dict)  # one-off corpus encoding: tokens, flops (when known)


@dataclass
class Pipeline:
    retriever: Retriever
    query_transforms: Sequence[QueryTransform] = ()
    rerankers: Sequence[RunTransform] = ()

    def __post_init__(self) -> None:
        self._documents: Sequence[Document] | None = None
        self._corpus: dict[str, Any] | None = None

    def index(self, documents: Sequence[Document]) -> Pipeline:
        self.retriever.index(documents)
        self._documents, self._corpus = documents, None
        for reranker in self.rerankers:
            if isinstance(reranker, Reranker):
                reranker.documents = documents  # type: ignore[assignment]
        return self

    def search(self, queries: Sequence[Query], k: int = 1000) -> Run:
        return self.search_detailed(queries, k, account=False).run

    def search_detailed(self, queries: Sequence[Query], k: int = 1000, *, account: bool = True) -> SearchDetails:
        """Search, and report per query what each stage cost (``account=False`` skips counting encoder tokens)."""
        original = list(queries)
        details = SearchDetails(run={}, compute={q.id: {} for q in original})
        transformed = original
        for transform in self.query_transforms:
            stage = _stage_name(transform, "transform", details.seconds)
            start = time.perf_counter()
            transformed = transform(transformed)
            details.seconds[stage] = time.perf_counter() - start
            if [q.id for q in transformed] != [q.id for q in original]:
                raise ValueError(f"query transform {transform!r} changed the query ids")
            if isinstance(transform, Rewriting):
                details.rewrites.update(transform.rewrites)
            _record(details, stage, transform)
        start = time.perf_counter()
        depth = max([k] + [r.k for r in self.rerankers if isinstance(r, Reranker)])  # rerankers may look deeper
        run = self.retriever.search(transformed, k=depth)
        details.seconds["retrieve"] = time.perf_counter() - start
        if account:
            for qid, cost in query_encoding(self.retriever, transformed).items():
                details.compute[qid]["encode_query"] = cost.as_dict()
            self._add_corpus(details, len(original))
        for rerank in self.rerankers:
            stage = _stage_name(rerank, "rerank", details.seconds)
            start = time.perf_counter()
            run = rerank(original, run)
            details.seconds[stage] = time.perf_counter() - start
            _record(details, stage, rerank)
        for q in original:
            details.run[q.id] = top_k_without_excluded(q, ranked(run.get(q.id, {})), k)
        return details

    def _add_corpus(self, details: SearchDetails, n_queries: int) -> None:
        """The corpus encoding this pipeline indexed, in total and as an equal share per query of this call."""
        if self._documents is None or n_queries == 0:
            return
        if self._corpus is None:
            self._corpus = corpus_encoding(self.retriever, self._documents)
        details.corpus = dict(self._corpus)
        share = self._corpus["flops"] / n_queries if self._corpus["flops"] is not None else None
        for per_query in details.compute.values():
            per_query["encode_corpus"] = StageCompute(encoded_tokens=self._corpus["encoded_tokens"] // n_queries,
                                                      flops=None if share is None else int(share)).as_dict()


def _stage_name(step: object, fallback: str, taken: Mapping[str, float]) -> str:
    base = step.stage if isinstance(step, Accounted) else fallback
    name, i = base, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    return name


def _record(details: SearchDetails, stage: str, step: object) -> None:
    if not isinstance(step, Accounted):
        return
    for qid, cost in step.compute.items():
        if qid in details.compute:
            details.compute[qid][stage] = cost.as_dict() if isinstance(cost, StageCompute) else dict(cost)


def _encoders(retriever: Retriever) -> list[Encoding]:
    """The encoding retrievers inside ``retriever`` (a hybrid's parts included)."""
    parts = retriever.retrievers if isinstance(retriever, Fusion) else [retriever]
    return [p for p in parts if isinstance(p, Encoding)]


def query_encoding(retriever: Retriever, queries: Sequence[Query]) -> dict[str, StageCompute]:
    """Encoder tokens and FLOPs to embed each query (instruction included); a lexical retriever costs 0 FLOPs."""
    out = {q.id: StageCompute() for q in queries}
    for dense in _encoders(retriever):
        model = dense.model
        texts = [dense.query_instruction + q.text for q in queries]
        params = encoder_parameters(model)
        for q, n in zip(queries, count_tokens(model.tokenizer, texts, model.max_seq_length)):
            out[q.id].add(StageCompute(encoded_tokens=n, flops=flops(params, n), requests=1))
    return out


def corpus_encoding(retriever: Retriever, documents: Sequence[Document]) -> dict[str, Any]:
    """Encoder tokens and FLOPs to embed the whole corpus once (0 for a lexical retriever)."""
    tokens, total = 0, 0
    for dense in _encoders(retriever):
        model = dense.model
        texts = [dense.document_instruction + document_text(d) for d in documents]
        n = sum(count_tokens(model.tokenizer, texts, model.max_seq_length))
        tokens, total = tokens + n, total + (flops(encoder_parameters(model), n) or 0)
    return {"documents": len(documents), "encoded_tokens": tokens, "flops": total}


def document_lookup(retriever: Retriever) -> DocumentLookup | None:
    """How to find document texts for a retriever: its indexed documents, or the saved index it was loaded from."""
    for part in members(retriever):
        lookup = part.document_lookup() if isinstance(part, Stored) else None
        if lookup is not None:
            return lookup
    return None


def build_pipeline(retriever: Retriever, *, llm: Any = None, rewrite: bool = False, rewrite_budget: int | None = None,
                   rerank: RerankKind = "none", rerank_k: int | None = None, task: str | None = None,
                   rewrite_mode: str = "replace", rerank_mode: str = "pointwise", alpha: float | None = None,
                   cross_encoder: Any = None) -> Pipeline:
    """The one place that turns CLI/server flags into a :class:`Pipeline`.

    ``rewrite`` adds a :class:`QueryRewriter` (``rewrite_budget`` tokens); ``rerank="llm"`` an
    :class:`LLMReranker`, ``rerank="cross-encoder"`` a :class:`CrossEncoderReranker` over ``cross_encoder``
    (a name, folder or loaded model). LLM steps need ``llm`` (``reasonir.llm.load_llm()``).

    Example:
        >>> from reasonir.retrieve import BM25Retriever
        >>> build_pipeline(BM25Retriever(), rerank="llm")
        Traceback (most recent call last):
        ...
        ValueError: rewriting and LLM reranking need an llm (reasonir.llm.load_llm())
    """
    from reasonir.retrieve.rerank import ALPHA, RERANK_K, CrossEncoderReranker, LLMReranker
    from reasonir.retrieve.rewrite import DEFAULT_BUDGET, QueryRewriter

    if rerank not in ("none", "llm", "cross-encoder"):
        raise ValueError(f"unknown reranker {rerank!r}; expected none, llm or cross-encoder")
    if (rewrite or rerank == "llm") and llm is None:
        raise ValueError("rewriting and LLM reranking need an llm (reasonir.llm.load_llm())")
    transforms: list[QueryTransform] = []
    if rewrite:
        transforms.append(QueryRewriter(llm, rewrite_budget or DEFAULT_BUDGET, rewrite_mode, task))  # type: ignore[arg-type]
    rerankers: list[RunTransform] = []
    k, a = rerank_k or RERANK_K, ALPHA if alpha is None else alpha
    lookup = document_lookup(retriever)
    if rerank == "llm":
        rerankers.append(LLMReranker(llm, k, a, task, mode=rerank_mode, documents=lookup))  # type: ignore[arg-type]
    elif rerank == "cross-encoder":
        if cross_encoder is None:
            raise ValueError("the cross-encoder reranker needs a model (--cross-encoder NAME_OR_FOLDER)")
        rerankers.append(CrossEncoderReranker(cross_encoder, k, a, documents=lookup))
    return Pipeline(retriever, transforms, rerankers)
