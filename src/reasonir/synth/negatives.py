"""Hard negatives, two kinds, both checked so that no false negative is kept.

Written: a further turn of the conversation that produced the query asks the LLM for a text on the same topic,
sharing vocabulary, that does not help (ReasonIR's multi-turn hard negatives). Kept only if it is long enough to be
a document, is no refusal or filler, does not copy the positive or the query, and (false-negative guard) the base
encoder scores it below ``margin`` x the positive's score for the query.

Mined: corpus documents from a rank window (ranks ``skip_top+1 .. skip_top+window`` under the corpus ranker) below
``margin`` x the positive's score, NV-Retriever's positive-aware "TopK-PercPos" (Moreira et al., 2024). Never the
positive, a copy of it (content hash) or a near-duplicate (word-set Jaccard, and embedding cosine for the dense
ranker).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from reasonir.data.records import Document
from reasonir.llm.types import ChatRequest, Message
from reasonir.retrieve.base import document_text
from reasonir.synth import llmcall, plain
from reasonir.synth.config import NegativeConfig, SynthConfig
from reasonir.synth.filters import is_filler
from reasonir.synth.prompts import Prompts
from reasonir.synth.ranker import CorpusRanker
from reasonir.synth.text import content_hash, count_words, jaccard


# --- written -----------------------------------------------------------------------------------------------------

def written_request(conversation: Sequence[Message], own_turn: str, prompts: Prompts, config: SynthConfig,
                    seed: int) -> ChatRequest:
    """Continue ``conversation`` (whose last turn asked for the query) with the model's answer ``own_turn``, then ask
    for ``negatives.written`` hard negatives (one plain-text passage in the small style)."""
    k = config.negatives.written
    small = prompts.style == "small"
    ask = prompts.render("negatives") if small else prompts.render("negatives", k=k)
    messages = [*conversation, {"role": "assistant", "content": own_turn}, {"role": "user", "content": ask}]
    schema = None if small else llmcall.string_list("negatives", k, k, min_length=20)
    return llmcall.request(messages, schema, config.negatives.max_tokens * (1 if small else k), "negatives.written",
                           config, seed)


def parse_negatives(value: object) -> list[str]:
    if isinstance(value, str):
        text = plain.passage(value)
        if not text:
            raise ValueError("empty passage")
        return [text]
    return llmcall.strings(value, "negatives")


def is_near_duplicate(text: str, positive: str, config: NegativeConfig) -> bool:
    return content_hash(text) == content_hash(positive) or jaccard(text, positive) >= config.near_duplicate_jaccard


def clean_written(negatives: list[str], positive: str, query: str, config: NegativeConfig,
                  dropped: Counter) -> list[str]:
    """Drop written negatives that are too short, filler, copies of the positive or the query, or repeats (each
    counted in ``dropped``); the false-negative guard runs afterwards (``guard_written``)."""
    out, seen = [], set()
    for neg in negatives:
        digest = content_hash(neg)
        if count_words(neg) < config.min_written_words:
            dropped["written_too_short"] += 1
        elif is_filler(neg):
            dropped["written_filler"] += 1
        elif is_near_duplicate(neg, positive, config):
            dropped["written_near_duplicate"] += 1
        elif digest == content_hash(query) or digest in seen or jaccard(neg, query) >= config.near_duplicate_jaccard:
            dropped["written_repeat"] += 1
        else:
            seen.add(digest)
            out.append(neg)
    return out


def guard_written(negatives: list[str], query: str, positive_score: float | None, ranker: CorpusRanker,
                  config: NegativeConfig, dropped: Counter) -> list[str]:
    """Keep written negatives the ranker scores below ``margin`` x the positive's score (the false-negative guard);
    where the ranker cannot score them (BM25 on a text outside the corpus) they are kept and counted unchecked."""
    if not negatives:
        return []
    scores = ranker.pair_scores([query] * len(negatives), negatives)
    out = []
    for neg, score in zip(negatives, scores):
        if score is None or positive_score is None:
            dropped["written_unchecked"] += 1
            out.append(neg)
        elif score >= config.margin * positive_score:
            dropped["written_false_negative"] += 1
        else:
            out.append(neg)
    return out


# --- mined -------------------------------------------------------------------------------------------------------

@dataclass
class Mined:
    negatives: list[tuple[str, str]] = field(default_factory=list)  # (doc id, text)
    rejected: Counter = field(default_factory=Counter)


def mine(scores: np.ndarray, positive: str, positive_id: str | None, positive_score: float | None,
         ranker: CorpusRanker, config: NegativeConfig, k: int) -> Mined:
    """Up to ``k`` negatives for one query from its corpus ``scores`` (see the module doc).

    >>> from reasonir.synth.ranker import BM25Ranker
    >>> docs = [Document(str(i), f"cats purr {'softly ' * i} when content number {i}") for i in range(6)]
    >>> r = BM25Ranker(docs)
    >>> ranked = r.rank(["why do cats purr softly"], [docs[5].text], ["5"])
    >>> cfg = NegativeConfig(skip_top=1, window=3, margin=1.0, near_duplicate_jaccard=1.1)
    >>> [d for d, _ in mine(ranked.scores[0], docs[5].text, "5", ranked.positive_scores[0], r, cfg, 2).negatives]
    ['3', '2']
    """
    out = Mined()
    if k <= 0:
        return out
    documents, own = ranker.documents, ranker.position.get(positive_id) if positive_id is not None else None
    order = np.argsort(-scores, kind="stable")[: config.skip_top + config.window + 1]
    ranked = [int(i) for i in order if int(i) != own]
    pos_hash = content_hash(positive)
    for i in ranked[config.skip_top: config.skip_top + config.window]:
        if len(out.negatives) >= k:
            break
        text = document_text(documents[i], "row")
        if content_hash(text) == pos_hash:
            out.rejected["mined_copy_of_positive"] += 1
        elif positive_score is not None and scores[i] > config.margin * positive_score:
            out.rejected["mined_above_margin"] += 1
        elif jaccard(text, positive) >= config.near_duplicate_jaccard or (
                own is not None and (ranker.document_similarity(i, own) or 0.0) >= config.near_duplicate_cosine):
            out.rejected["mined_near_duplicate"] += 1
        else:
            out.negatives.append((documents[i].id, text))
    return out
