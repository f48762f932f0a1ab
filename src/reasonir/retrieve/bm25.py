"""BM25 on bm25s, with BRIGHT's parameters by default (k1=0.9, b=0.4; Su et al., 2024)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from reasonir.data.records import Document, Query
from reasonir.retrieve import store
from reasonir.retrieve.base import Run, document_text, run_row, search_depth


@dataclass
class BM25Config:
    k1: float = 0.9  # BRIGHT
    b: float = 0.4  # BRIGHT
    stemmer: str | None = "english"  # PyStemmer's Snowball stemmer, as bm25s' examples use
    stopwords: str | None = "en"  # bm25s' English stopword list
    show_progress: bool = False  # bm25s' own tqdm bars for tokenizing and indexing


class BM25Retriever:
    """Sparse lexical retriever.

    Example:
        >>> r = BM25Retriever().index([Document("d1", "cats purr"), Document("d2", "dogs bark")])
        >>> list(r.search([Query("q", "why do cats purr")], k=1)["q"])
        ['d1']
    """

    kind = "bm25"

    def __init__(self, config: BM25Config | None = None) -> None:
        self.config = config or BM25Config()
        self._ids: list[str] = []
        self._model = None
        self._stemmer = None
        self._documents: Sequence[Document] | None = None
        self._source: Path | None = None

    def _make_stemmer(self) -> None:
        if self.config.stemmer:
            import Stemmer

            self._stemmer = Stemmer.Stemmer(self.config.stemmer)

    def _tokenize(self, texts: list[str]):
        import bm25s

        return bm25s.tokenize(texts, stopwords=self.config.stopwords, stemmer=self._stemmer,
                              show_progress=self.config.show_progress)

    def index(self, documents: Sequence[Document]) -> BM25Retriever:
        import bm25s

        self._make_stemmer()
        self._ids = [d.id for d in documents]
        self._documents, self._source = documents, None
        self._model = bm25s.BM25(k1=self.config.k1, b=self.config.b)
        self._model.index(self._tokenize([document_text(d) for d in documents]), show_progress=self.config.show_progress)
        return self

    def search(self, queries: Sequence[Query], k: int = 1000) -> Run:
        if self._model is None:
            raise RuntimeError("call index() before search()")
        depth = search_depth(queries, k, len(self._ids))
        if depth == 0:
            return {q.id: {} for q in queries}
        docs, scores = self._model.retrieve(self._tokenize([q.text for q in queries]), k=depth,
                                            show_progress=self.config.show_progress)
        run: Run = {}
        for q, row_docs, row_scores in zip(queries, docs, scores):
            matched = row_scores > 0  # a zero score means no query term matched: not retrieved, as in Pyserini
            run[q.id] = run_row(q, self._ids, row_docs[matched], row_scores[matched], k)
        return run

    def score_all(self, text: str) -> np.ndarray:
        """BM25 score of ``text`` against every indexed document (in index order): the one BM25 path that
        synthesis uses for mining, round-trip checks and difficulty."""
        import bm25s

        if self._model is None:
            raise RuntimeError("call index() before score_all()")
        tokens = bm25s.tokenize([text], stopwords=self.config.stopwords, stemmer=self._stemmer, return_ids=False,
                                show_progress=False)[0]
        if not tokens:  # only stopwords: nothing matches
            return np.zeros(len(self._ids), dtype=np.float32)
        return np.asarray(self._model.get_scores(tokens), dtype=np.float32)

    def save(self, folder: str | Path, *, overwrite: bool = False) -> Path:
        """Write the index to ``folder`` (see :mod:`reasonir.retrieve.store`); reload with :meth:`load`."""
        if self._model is None:
            raise RuntimeError("call index() before save()")
        with store.writing_index(folder, self.kind, {"config": asdict(self.config)}, overwrite=overwrite) as tmp:
            self._model.save(str(tmp / "bm25s"), show_progress=False)
            store.write_ids(tmp, self._ids)
            store.write_documents(tmp, self._documents, self._source)
        return Path(folder)

    @classmethod
    def load(cls, folder: str | Path) -> BM25Retriever:
        import bm25s

        folder = Path(folder)
        manifest = store.read_manifest(folder)
        retriever = cls(BM25Config(**manifest["config"]))
        retriever._make_stemmer()
        retriever._model = bm25s.BM25.load(str(folder / "bm25s"), show_progress=False)
        retriever._ids = store.read_ids(folder)
        retriever._source = folder
        return retriever
