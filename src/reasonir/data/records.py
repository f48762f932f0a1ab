from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    title: str = ""


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    excluded_ids: tuple[str, ...] = ()


@dataclass
class Dataset:
    """A corpus, queries and graded relevance judgements (qrels[qid][docid] = grade)."""

    documents: list[Document]
    queries: list[Query]
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)
