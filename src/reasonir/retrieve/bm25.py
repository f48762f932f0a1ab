"""BM25 with BRIGHT's parameters by default (k1=0.9, b=0.4; Su et al., 2024), in two flavours.

- ``bm25s`` (default): bm25s with PyStemmer's Snowball stemmer and bm25s' stopwords; fast.
- ``bright``: BRIGHT's own computation (Pyserini's Lucene analyzer, gensim's LuceneBM25Model with the query
  BM25-weighted too), reproduced without Java in :mod:`reasonir.retrieve.lucene`. On SciFact test it gives BRIGHT's
  figures (README); use it to compare with numbers from BRIGHT's code.

Documents no query term matches score 0. By default they are left out of the run (as Pyserini's search does);
``keep_zero_scores=True`` fills each query's top ``k`` with them in corpus order, as BRIGHT's code does (it sorts
every document's score, zeros included, and keeps 1000).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from reasonir.data.records import Document, Query
from reasonir.retrieve import store
from reasonir.retrieve.base import DocumentLookup, Run, document_text, run_row, search_depth


BM25Flavour = Literal["bm25s", "bright"]


@dataclass
class BM25Config:
    k1: float = 0.9  # BRIGHT
    b: float = 0.4  # BRIGHT
    stemmer: str | None = "english"  # PyStemmer's Snowball stemmer, as bm25s' examples use (bm25s flavour)
    stopwords: str | None = "en"  # bm25s' English stopword list (bm25s flavour)
    show_progress: bool = False  # bm25s' own tqdm bars for tokenizing and indexing
    flavour: BM25Flavour = "bm25s"  # "bright": BRIGHT's analyzer and scoring (see the module docstring)
    keep_zero_scores: bool = False  # True: fill the top k with zero-score documents, as BRIGHT's code does

    def __post_init__(self) -> None:
        if self.flavour not in ("bm25s", "bright"):
            raise ValueError(f"unknown BM25 flavour {self.flavour!r}; expected 'bm25s' or 'bright'")


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
        self._lucene = None  # LuceneBM25 for the bright flavour

    def _make_stemmer(self) -> None:
        if self.config.stemmer:
            import Stemmer

            self._stemmer = Stemmer.Stemmer(self.config.stemmer)

    def _tokenize(self, texts: list[str]):
        import bm25s

        return bm25s.tokenize(texts, stopwords=self.config.stopwords, stemmer=self._stemmer,
                              show_progress=self.config.show_progress)

    def index(self, documents: Sequence[Document]) -> BM25Retriever:
        self._ids = [d.id for d in documents]
        self._documents, self._source = documents, None
        if self.config.flavour == "bright":
            from reasonir.retrieve.lucene import LuceneBM25, analyze

            self._lucene = LuceneBM25(self.config.k1, self.config.b).fit([analyze(document_text(d)) for d in documents])
            return self
        import bm25s

        self._make_stemmer()
        self._model = bm25s.BM25(k1=self.config.k1, b=self.config.b)
        self._model.index(self._tokenize([document_text(d) for d in documents]), show_progress=self.config.show_progress)
        return self

    def search(self, queries: Sequence[Query], k: int = 1000) -> Run:
        if self._model is None and self._lucene is None:
            raise RuntimeError("call index() before search()")
        depth = search_depth(queries, k, len(self._ids))
        if depth == 0:
            return {q.id: {} for q in queries}
        if self._lucene is not None:
            return self._search_bright(queries, k, depth)
        docs, scores = self._model.retrieve(self._tokenize([q.text for q in queries]), k=depth,
                                            show_progress=self.config.show_progress)
        run: Run = {}
        for q, row_docs, row_scores in zip(queries, docs, scores):
            matched = row_scores > 0  # a zero score means no query term matched: not retrieved, as in Pyserini
            run[q.id] = run_row(q, self._ids, row_docs[matched], row_scores[matched], k)
            if self.config.keep_zero_scores:
                self._fill_zeros(q, run[q.id], k)
        return run

    def score_all(self, text: str) -> np.ndarray:
        """BM25 score of ``text`` against every indexed document (in index order): the one BM25 path that
        synthesis uses for mining, round-trip checks and difficulty."""
        import bm25s

        if self._lucene is not None:
            from reasonir.retrieve.lucene import analyze

            return np.asarray(self._lucene.scores(analyze(text)), dtype=np.float32)
        if self._model is None:
            raise RuntimeError("call index() before score_all()")
        tokens = bm25s.tokenize([text], stopwords=self.config.stopwords, stemmer=self._stemmer, return_ids=False,
                                show_progress=False)[0]
        if not tokens:  # only stopwords: nothing matches
            return np.zeros(len(self._ids), dtype=np.float32)
        return np.asarray(self._model.get_scores(tokens), dtype=np.float32)

    def _search_bright(self, queries: Sequence[Query], k: int, depth: int) -> Run:
        from reasonir.retrieve.lucene import analyze

        run: Run = {}
        for q in queries:
            scores = self._lucene.scores(analyze(q.text))
            order = np.argsort(-scores, kind="stable")[:depth]  # stable: ties keep corpus order, as BRIGHT's sort
            if not self.config.keep_zero_scores:
                order = order[scores[order] > 0]
            run[q.id] = run_row(q, self._ids, order, scores[order], k)
        return run

    def _fill_zeros(self, query: Query, row: dict[str, float], k: int) -> None:
        """Append zero-score documents in corpus order until ``row`` holds ``k`` (BRIGHT keeps them)."""
        excluded = set(query.excluded_ids)
        for doc_id in self._ids:
            if len(row) >= k:
                break
            if doc_id not in row and doc_id not in excluded:
                row[doc_id] = 0.0

    def document_lookup(self) -> DocumentLookup | None:
        """The indexed documents by id, or those saved with the index this was loaded from (None: neither)."""
        return store.table_lookup(self._documents, self._source)

    def save(self, folder: str | Path, *, overwrite: bool = False) -> Path:
        """Write the index to ``folder`` (see :mod:`reasonir.retrieve.store`); reload with :meth:`load`."""
        if self._model is None and self._lucene is None:
            raise RuntimeError("call index() before save()")
        with store.writing_index(folder, self.kind, {"config": asdict(self.config)}, overwrite=overwrite) as tmp:
            if self._lucene is not None:
                self._save_lucene(tmp)
            else:
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
        if retriever.config.flavour == "bright":
            retriever._load_lucene(folder)
        else:
            retriever._make_stemmer()
            retriever._model = bm25s.BM25.load(str(folder / "bm25s"), show_progress=False)
        retriever._ids = store.read_ids(folder)
        retriever._source = folder
        return retriever

    def _save_lucene(self, folder: Path) -> None:
        from scipy import sparse

        sparse.save_npz(folder / "lucene-weights.npz", self._lucene.matrix)
        np.save(folder / "lucene-idf.npy", self._lucene.idf)
        (folder / "lucene-vocab.json").write_text(json.dumps({"avgdl": self._lucene.avgdl,
                                                               "vocab": self._lucene.vocab}), encoding="utf-8")

    def _load_lucene(self, folder: Path) -> None:
        from scipy import sparse

        from reasonir.retrieve.lucene import LuceneBM25

        meta = json.loads((folder / "lucene-vocab.json").read_text(encoding="utf-8"))
        self._lucene = LuceneBM25(self.config.k1, self.config.b)
        self._lucene.vocab, self._lucene.avgdl = meta["vocab"], meta["avgdl"]
        self._lucene.idf = np.load(folder / "lucene-idf.npy")
        self._lucene.matrix = sparse.load_npz(folder / "lucene-weights.npz").tocsr()
