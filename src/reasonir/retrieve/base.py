"""What every retriever shares: the ``Retriever`` protocol and the optional contracts some retrievers also keep
(``Fusion``: made of other retrievers; ``Encoding``: encodes with a model; ``Stored``: can read its documents back),
the run type, and BRIGHT's excluded-ids rule."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from reasonir.data.records import Document, Query

Run = dict[str, dict[str, float]]  # {query id: {document id: score}}, as pytrec_eval takes it


@runtime_checkable
class Retriever(Protocol):
    """Index documents once, then answer queries with their top-``k`` documents.

    ``search`` leaves out each query's ``excluded_ids`` (BRIGHT: documents that would leak the answer) and still
    returns up to ``k`` documents, by looking ``len(excluded_ids)`` deeper.
    """

    def index(self, documents: Sequence[Document]) -> Retriever: ...

    def search(self, queries: Sequence[Query], k: int = 1000) -> Run: ...


DocumentLookup = Callable[[list[str]], Mapping[str, Document]]  # ids -> {id: Document} for those found


@runtime_checkable
class Fusion(Protocol):
    """A retriever made of others (``HybridRetriever``), each searched and then fused."""

    retrievers: list[Retriever]


@runtime_checkable
class Encoding(Protocol):
    """A retriever that encodes texts with a model (``DenseRetriever``): what compute accounting reads."""

    query_instruction: str
    document_instruction: str

    @property
    def model(self) -> Any: ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...


@runtime_checkable
class Stored(Protocol):
    """A retriever that can read back the documents it indexed, or those saved with the index it was loaded from."""

    def document_lookup(self) -> DocumentLookup | None: ...


def members(retriever: Retriever) -> list[Retriever]:
    """The retriever and, for a fusion, the retrievers it is made of.

    >>> from reasonir.retrieve import BM25Retriever, HybridRetriever
    >>> [type(r).__name__ for r in members(HybridRetriever([BM25Retriever()]))]
    ['HybridRetriever', 'BM25Retriever']
    """
    return [retriever, *(retriever.retrievers if isinstance(retriever, Fusion) else [])]


TextLayout = Literal["search", "row"]


def document_text(doc: Document, layout: TextLayout = "search") -> str:
    """A document as one text: the title, then the body.

    ``"search"``: joined by a space, the way BEIR and MTEB feed documents to encoders; what every retriever indexes
    and scores. ``"row"``: the title on a line of its own, the text a synthesized training row carries (positives
    and mined negatives), as the synthesis prompts show a document with its title as a heading.

    >>> doc = Document("d", "Salt melts ice.", "Roads")
    >>> document_text(doc), document_text(doc, "row")
    ('Roads Salt melts ice.', 'Roads\\nSalt melts ice.')
    """
    sep = "\n" if layout == "row" else " "
    return f"{doc.title}{sep}{doc.text}".strip()


def search_depth(queries: Sequence[Query], k: int, corpus_size: int) -> int:
    """How deep to search so that ``k`` results remain after removing excluded ids."""
    extra = max((len(q.excluded_ids) for q in queries), default=0)
    return max(0, min(k + extra, corpus_size))


def top_k_without_excluded(query: Query, ranked: list[tuple[str, float]], k: int) -> dict[str, float]:
    """Keep the first ``k`` of an already ranked list, skipping the query's excluded ids."""
    excluded = set(query.excluded_ids)
    out: dict[str, float] = {}
    for doc_id, score in ranked:
        if len(out) == k:
            break
        if doc_id not in excluded:
            out[doc_id] = score
    return out


def run_row(query: Query, ids: Sequence[str], positions: np.ndarray, scores: np.ndarray, k: int) -> dict[str, float]:
    """One query's results from a library's ranked arrays (positions into ``ids``, best first).

    The common case, no excluded ids, is a single ``dict(zip(...))`` over ``tolist()`` output: this is where a
    run over 1000 documents per query spends its time, so it avoids per-item Python work.
    """
    names = [ids[i] for i in positions.tolist()]
    values = scores.tolist()
    if query.excluded_ids:
        return top_k_without_excluded(query, list(zip(names, values)), k)
    return dict(zip(names[:k], values[:k]))
