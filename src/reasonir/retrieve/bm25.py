"""BM25 on bm25s, with BRIGHT's parameters by default (k1=0.9, b=0.4; Su et al., 2024)."""
from __future__ import annotations

from dataclasses import dataclass

from reasonir.data.records import Document, Query


@dataclass
class BM25Config:
    k1: float = 0.9  # BRIGHT
    b: float = 0.4  # BRIGHT
    stemmer: str | None = "english"
    stopwords: str | None = "en"


class BM25Retriever:
    """Sparse lexical retriever.

    Example:
        >>> r = BM25Retriever().index([Document("d1", "cats purr"), Document("d2", "dogs bark")])
        >>> list(r.search([Query("q", "why do cats purr")], k=1)["q"])
        ['d1']
    """

    def __init__(self, config: BM25Config | None = None) -> None:
        self.config = config or BM25Config()
        self._ids: list[str] = []
        self._model = None
        self._stemmer = None

    def _tokenize(self, texts: list[str]):
        import bm25s

        return bm25s.tokenize(texts, stopwords=self.config.stopwords, stemmer=self._stemmer, show_progress=False)

    def index(self, documents: list[Document]) -> BM25Retriever:
        import bm25s

        if self.config.stemmer:
            import Stemmer

            self._stemmer = Stemmer.Stemmer(self.config.stemmer)
        self._ids = [d.id for d in documents]
        self._model = bm25s.BM25(k1=self.config.k1, b=self.config.b)
        self._model.index(self._tokenize([f"{d.title} {d.text}".strip() for d in documents]), show_progress=False)
        return self

    def search(self, queries: list[Query], k: int = 1000) -> dict[str, dict[str, float]]:
        if self._model is None:
            raise RuntimeError("call index() before search()")
        k = min(k, len(self._ids))
        docs, scores = self._model.retrieve(self._tokenize([q.text for q in queries]), k=k, show_progress=False)
        run: dict[str, dict[str, float]] = {}
        for q, row_docs, row_scores in zip(queries, docs, scores):
            excluded = set(q.excluded_ids)
            run[q.id] = {
                self._ids[i]: float(s) for i, s in zip(row_docs, row_scores) if s > 0 and self._ids[i] not in excluded
            }
        return run
