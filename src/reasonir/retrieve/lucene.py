"""BRIGHT's own BM25, without Java: Pyserini's default English analyzer and gensim's ``LuceneBM25Model``.

BRIGHT (retrievers.py, ``retrieval_bm25``) analyzes text with Pyserini's default Lucene analyzer and scores with
gensim's ``LuceneBM25Model(k1=0.9, b=0.4)`` through a ``SparseMatrixSimilarity`` dot product. This module
computes the same thing in Python:

- analyzer (Lucene's ``EnglishAnalyzer`` chain, which Pyserini's default is): Unicode word segmentation
  (UAX #29, as Lucene's ``StandardTokenizer``, tokens cut at 255 characters), the English possessive filter
  (a trailing ``'s`` goes), lower-casing, Lucene's 33 English stopwords, and the Porter stemmer (NLTK's
  implementation in the mode that replicates Porter's reference code, which Lucene's ``PorterStemmer`` ports);
- scoring: ``idf = ln(N + 1) - ln(df + 0.5)``, term weight ``idf x tf / (tf + k1 (1 - b + b len / avgdl))`` with
  ``avgdl`` the mean analyzed document length, applied to the documents *and to the query* (BRIGHT weights the
  query with the same model), score = dot product of the two sparse vectors.

Word segmentation uses the ``regex`` package's Unicode word boundaries (its ``WORD`` flag); where the Unicode
version of Python's tables and Lucene's grammar disagree on rare characters, tokens can differ (see the SciFact
figure in README: within 0.002 of BRIGHT's own code).

Example:
    >>> analyze("The cat's whiskers are twitching, e.g. U.S.A. 3.14!")
    ['cat', 'whisker', 'twitch', 'e.g', 'u.s.a', '3.14']
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

# org.apache.lucene.analysis.en.EnglishAnalyzer.ENGLISH_STOP_WORDS_SET
LUCENE_ENGLISH_STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these they "
    "this to was will with".split())
MAX_TOKEN_LENGTH = 255  # StandardTokenizer's default maxTokenLength
_APOSTROPHES = ("'", "\u2019", "\uff07")  # EnglishPossessiveFilter's three apostrophes


@lru_cache(maxsize=1)
def _patterns():
    import regex

    return regex.compile(r"\b", flags=regex.WORD | regex.V1), regex.compile(r"[\p{L}\p{N}]")


@lru_cache(maxsize=1)
def _porter():
    from reasonir.optional import require

    porter = require("nltk.stem.porter", "bright", purpose="BRIGHT's BM25 flavour (Porter stemmer)")
    return porter.PorterStemmer(mode=porter.PorterStemmer.MARTIN_EXTENSIONS)


@lru_cache(maxsize=200_000)
def stem(token: str) -> str:
    """Porter stem of a lower-cased token (cached: a corpus repeats its words)."""
    return _porter().stem(token, to_lowercase=False)


def standard_tokens(text: str) -> list[str]:
    """Lucene StandardTokenizer-like tokens: UAX #29 word segments holding a letter or digit."""
    boundary, wordlike = _patterns()
    cuts = [m.start() for m in boundary.finditer(text)]
    out = []
    for start, end in zip(cuts, cuts[1:]):
        piece = text[start:end]
        if wordlike.search(piece):
            out.extend(piece[i:i + MAX_TOKEN_LENGTH] for i in range(0, len(piece), MAX_TOKEN_LENGTH))
    return out


def analyze(text: str) -> list[str]:
    """Pyserini's default English analysis of ``text`` (see the module docstring)."""
    out = []
    for token in standard_tokens(text):
        if len(token) >= 2 and token[-1] in "sS" and token[-2] in _APOSTROPHES:
            token = token[:-2]
        token = token.lower()
        if token and token not in LUCENE_ENGLISH_STOPWORDS:
            out.append(stem(token))
    return out


class LuceneBM25:
    """gensim ``LuceneBM25Model`` semantics over a scipy sparse document-term matrix.

    Example:
        >>> m = LuceneBM25(k1=0.9, b=0.4).fit([["cat", "purr"], ["dog", "bark"], ["cat"]])
        >>> [round(s, 4) for s in m.scores(["cat"]).tolist()]  # idf ln(4/2.5); the short document wins
        [0.0638, 0.0, 0.0716]
    """

    def __init__(self, k1: float = 0.9, b: float = 0.4) -> None:
        self.k1, self.b = k1, b
        self.vocab: dict[str, int] = {}
        self.idf = np.zeros(0)
        self.avgdl = 0.0
        self.matrix = None  # documents x terms, BM25 weights (scipy CSR)

    def _weights(self, counts: np.ndarray, length: float, idf: np.ndarray) -> np.ndarray:
        return idf * counts / (counts + self.k1 * (1 - self.b + self.b * length / self.avgdl))

    def fit(self, corpus: Sequence[Sequence[str]]) -> LuceneBM25:
        from scipy import sparse

        rows, cols, vals = [], [], []
        for i, tokens in enumerate(corpus):
            counts: dict[int, int] = {}
            for t in tokens:
                j = self.vocab.setdefault(t, len(self.vocab))
                counts[j] = counts.get(j, 0) + 1
            rows.extend([i] * len(counts))
            cols.extend(counts)
            vals.extend(counts.values())
        n_docs = len(corpus)
        tf = sparse.csr_matrix((np.asarray(vals, dtype=np.float64), (rows, cols)), shape=(n_docs, len(self.vocab)))
        df = np.bincount(tf.indices, minlength=len(self.vocab)).astype(np.float64)
        self.idf = math.log(n_docs + 1.0) - np.log(df + 0.5)
        lengths = np.asarray(tf.sum(axis=1)).ravel()
        self.avgdl = float(lengths.sum() / max(n_docs, 1)) or 1.0
        norm = self.k1 * (1 - self.b + self.b * lengths / self.avgdl)
        tf = tf.tocoo()
        weights = self.idf[tf.col] * tf.data / (tf.data + norm[tf.row])
        self.matrix = sparse.csr_matrix((weights, (tf.row, tf.col)), shape=tf.shape)
        return self

    def query_vector(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Term ids and BM25 weights of a query (BRIGHT weights the query too). Terms not in the corpus are
        dropped before the query length is taken, as gensim's ``doc2bow`` then ``model[bow]`` do."""
        counts: dict[int, int] = {}
        for t in tokens:
            j = self.vocab.get(t)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        ids = np.fromiter(counts, dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        return ids, self._weights(tf, float(tf.sum()), self.idf[ids]) if len(ids) else tf

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """Score of every document for one analyzed query, in corpus order."""
        ids, weights = self.query_vector(tokens)
        if self.matrix is None:
            raise RuntimeError("call fit() before scores()")
        if len(ids) == 0:
            return np.zeros(self.matrix.shape[0])
        return np.asarray(self.matrix[:, ids] @ weights).ravel()
