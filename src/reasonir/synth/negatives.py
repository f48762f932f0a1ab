"""Hard negatives, two kinds.

Written: a further turn of the conversation that produced the query and its positive asks the LLM for texts on the
same topic, sharing vocabulary, that do not help (ReasonIR's multi-turn hard negatives).

Mined: corpus documents from a rank window (ranks ``skip_top+1 .. skip_top+window``) under a score margin relative
to the positive, NV-Retriever's positive-aware "TopK-PercPos" (keep a candidate only if its score is at most
``margin`` x the positive's score). Never the positive, a copy of it (content hash) or a near-duplicate (word-set
Jaccard, and embedding cosine for the dense miner). With BM25 the margin needs the positive's own score, which is
known only when the positive is a corpus document (HQ); for VL positives BM25 mining uses the window alone.
"""
from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from reasonir.data.records import Document
from reasonir.llm.types import ChatRequest, Message
from reasonir.synth import llmcall
from reasonir.synth.config import NegativeConfig, SynthConfig
from reasonir.synth.prompts import Prompts
from reasonir.synth.text import content_hash, jaccard


def document_text(doc: Document) -> str:
    """The text a document contributes to a training row: title, newline, body."""
    return f"{doc.title}\n{doc.text}".strip() if doc.title else doc.text.strip()


# --- written -----------------------------------------------------------------------------------------------------

def written_request(conversation: Sequence[Message], answer: dict, prompts: Prompts, config: SynthConfig) -> ChatRequest:
    """Continue ``conversation`` (whose last turn asked for the query) with the model's ``answer`` and then ask for
    ``negatives.written`` hard negatives."""
    k = config.negatives.written
    messages = [*conversation, {"role": "assistant", "content": json.dumps(answer, ensure_ascii=False)},
                {"role": "user", "content": prompts.render("negatives", k=k)}]
    return llmcall.request(messages, llmcall.string_list("negatives", k, k, min_length=20),
                           config.negatives.max_tokens * k, "negatives.written", config.temperature, config.seed)


def parse_negatives(value: object) -> list[str]:
    return llmcall.strings(value, "negatives")


def is_near_duplicate(text: str, positive: str, config: NegativeConfig) -> bool:
    return content_hash(text) == content_hash(positive) or jaccard(text, positive) >= config.near_duplicate_jaccard


def clean_written(negatives: list[str], positive: str, query: str, config: NegativeConfig,
                  dropped: Counter) -> list[str]:
    """Drop written negatives that copy the positive or the query, or repeat each other (counted in ``dropped``)."""
    out, seen = [], set()
    for neg in negatives:
        digest = content_hash(neg)
        if is_near_duplicate(neg, positive, config):
            dropped["written_near_duplicate"] += 1
        elif digest == content_hash(query) or digest in seen:
            dropped["written_repeat"] += 1
        else:
            seen.add(digest)
            out.append(neg)
    return out


# --- mined -------------------------------------------------------------------------------------------------------

@dataclass
class Mined:
    negatives: list[tuple[str, str]] = field(default_factory=list)  # (doc id, text)
    positive_rank: int | None = None  # 1-based rank of the positive over the corpus, None when unknown
    rejected: Counter = field(default_factory=Counter)


class Miner(Protocol):
    def mine(self, query: str, positive: str, positive_id: str | None, k: int) -> Mined: ...


class _ScoredMiner:
    """Shared mining logic over a full score vector; subclasses supply ``_scores`` and the positive's score."""

    def __init__(self, documents: Sequence[Document], config: NegativeConfig) -> None:
        self.config = config
        self.docs = list(documents)
        self.ids = [d.id for d in self.docs]
        self.position = {d.id: i for i, d in enumerate(self.docs)}
        self._hashes: dict[int, str] = {}  # content hashes, computed for candidates only
        self._lock = threading.Lock()

    def _scores(self, query: str, positive: str, positive_id: str | None) -> tuple[np.ndarray, float | None]:
        raise NotImplementedError

    def _hash(self, i: int) -> str:
        if i not in self._hashes:
            self._hashes[i] = content_hash(document_text(self.docs[i]))
        return self._hashes[i]

    def _extra_near_duplicate(self, i: int, positive: str) -> bool:
        return False

    def mine(self, query: str, positive: str, positive_id: str | None, k: int) -> Mined:
        with self._lock:  # one query at a time: the dense miner keeps the positive's embedding between steps
            return self._mine(query, positive, positive_id, k)

    def _mine(self, query: str, positive: str, positive_id: str | None, k: int) -> Mined:
        scores, pos_score = self._scores(query, positive, positive_id)
        out = Mined()
        order = np.argsort(-scores, kind="stable")
        if positive_id in self.position:
            out.positive_rank = int(np.nonzero(order == self.position[positive_id])[0][0]) + 1
        elif pos_score is not None:
            out.positive_rank = int((scores > pos_score).sum()) + 1
        cfg, pos_hash = self.config, content_hash(positive)
        head = order[: cfg.skip_top + cfg.window + 1]  # one extra: the positive itself may be among them
        ranked = [int(i) for i in head if self.ids[int(i)] != positive_id]
        for i in ranked[cfg.skip_top: cfg.skip_top + cfg.window]:
            if len(out.negatives) >= k:
                break
            text = document_text(self.docs[i])
            if self._hash(i) == pos_hash:
                out.rejected["mined_copy_of_positive"] += 1
            elif pos_score is not None and scores[i] > cfg.margin * pos_score:
                out.rejected["mined_above_margin"] += 1
            elif jaccard(text, positive) >= cfg.near_duplicate_jaccard or self._extra_near_duplicate(i, positive):
                out.rejected["mined_near_duplicate"] += 1
            else:
                out.negatives.append((self.ids[i], text))
        return out


class BM25Miner(_ScoredMiner):
    """BM25 (bm25s, BRIGHT's k1=0.9, b=0.4 as in ``reasonir.retrieve.bm25``) over the whole corpus."""

    def __init__(self, documents: Sequence[Document], config: NegativeConfig) -> None:
        super().__init__(documents, config)
        import bm25s
        import Stemmer

        from reasonir.retrieve.bm25 import BM25Config

        self._bm = BM25Config()
        self._stemmer = Stemmer.Stemmer(self._bm.stemmer) if self._bm.stemmer else None
        tokens = bm25s.tokenize([document_text(d) for d in self.docs], stopwords=self._bm.stopwords,
                                stemmer=self._stemmer, show_progress=False)
        self._model = bm25s.BM25(k1=self._bm.k1, b=self._bm.b)
        self._model.index(tokens, show_progress=False)

    def _scores(self, query: str, positive: str, positive_id: str | None) -> tuple[np.ndarray, float | None]:
        import bm25s

        q = bm25s.tokenize([query], stopwords=self._bm.stopwords, stemmer=self._stemmer, return_ids=False,
                           show_progress=False)[0]
        if not q:  # only stopwords, or a script the tokenizer drops: nothing matches
            return np.zeros(len(self.docs), dtype=np.float32), (0.0 if positive_id in self.position else None)
        scores = np.asarray(self._model.get_scores(q), dtype=np.float32)
        pos = float(scores[self.position[positive_id]]) if positive_id in self.position else None
        return scores, pos


class DenseMiner(_ScoredMiner):
    """A dense model (``reasonir.retrieve.DenseRetriever``, all-MiniLM-L6-v2 by default), exact inner product over
    normalised embeddings; the positive's score is always known, so the margin always applies."""

    def __init__(self, documents: Sequence[Document], config: NegativeConfig) -> None:
        super().__init__(documents, config)
        from reasonir.retrieve import DenseRetriever

        self._dense = DenseRetriever(model=config.dense_model)
        self._emb = np.asarray(self._dense.encode_documents([document_text(d) for d in self.docs]))
        self._pos_emb: np.ndarray | None = None

    def _scores(self, query: str, positive: str, positive_id: str | None) -> tuple[np.ndarray, float | None]:
        q = np.asarray(self._dense.encode_queries([query]))[0]
        if positive_id in self.position:
            self._pos_emb = self._emb[self.position[positive_id]]
        else:
            self._pos_emb = np.asarray(self._dense.encode_documents([positive]))[0]
        return self._emb @ q, float(self._pos_emb @ q)

    def _extra_near_duplicate(self, i: int, positive: str) -> bool:
        return self._pos_emb is not None and float(self._emb[i] @ self._pos_emb) >= self.config.near_duplicate_cosine


def build_miner(documents: Sequence[Document], config: NegativeConfig) -> Miner:
    return DenseMiner(documents, config) if config.miner == "dense" else BM25Miner(documents, config)
