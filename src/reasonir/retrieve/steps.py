"""The contracts of a :class:`~reasonir.retrieve.pipeline.Pipeline`'s steps, declared in one place.

- a query transform maps queries to queries with the same ids (any function will do; :class:`QueryRewriter`
  rewrites with an LLM);
- a run transform maps ``(the user's original queries, run) -> run`` (any function will do);
- an :class:`Accounted` step also says, after each call, what it cost per query under its ``stage`` name;
- a :class:`Rewriting` step also says what it rewrote each query to;
- a :class:`Reranker` (:class:`LLMReranker`, :class:`CrossEncoderReranker`) rescores each query's top ``k``
  (the pipeline retrieves at least that deep), reads document texts through ``documents`` (the pipeline hands it
  the corpus), and records the judgements that failed;
- a :class:`DetailedSearch` (a ``Pipeline``) reports its stages with the run: ``run``, ``rewrites``, ``compute``,
  ``seconds``, as :class:`~reasonir.retrieve.pipeline.SearchDetails`.

Example:
    >>> from reasonir.retrieve import LLMReranker, QueryRewriter
    >>> from reasonir.testing import ScriptedLLM
    >>> llm = ScriptedLLM(lambda r: "text")
    >>> isinstance(LLMReranker(llm), Reranker), isinstance(QueryRewriter(llm), Rewriting)
    (True, True)
    >>> isinstance(lambda queries: queries, Accounted)  # a plain function: no stage, nothing to report
    False
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from reasonir.data.records import Query
from reasonir.retrieve.base import DocumentLookup, Run
from reasonir.retrieve.compute import StageCompute

QueryTransform = Callable[[list[Query]], list[Query]]
RunTransform = Callable[[list[Query], Run], Run]


@runtime_checkable
class Accounted(Protocol):
    """A step that reports, after each call, its compute per query id under its stage name."""

    stage: str
    compute: Mapping[str, StageCompute]


@runtime_checkable
class Rewriting(Accounted, Protocol):
    """A query transform that also reports each query's rewrite (query id -> text) after each call."""

    rewrites: Mapping[str, str]

    def __call__(self, queries: Sequence[Query]) -> list[Query]: ...


@runtime_checkable
class Reranker(Accounted, Protocol):
    """A run transform over each query's top ``k``; ``failures`` (id -> error) after each call."""

    k: int
    failures: Mapping[str, str]
    documents: DocumentLookup | None  # set by the pipeline: a list of documents or a lookup by ids

    def __call__(self, queries: Sequence[Query], run: Run) -> Run: ...


@runtime_checkable
class DetailedSearch(Protocol):
    """A searcher that reports its stages with its run (``SearchDetails``: run, rewrites, compute, seconds)."""

    def search_detailed(self, queries: Sequence[Query], k: int = 1000) -> Any: ...
