"""Train the candidate recipes, judge them on the pseudo-dev set, and hand back a model only if it beats the base.

Which recipe helps depends on the corpus: on SciFact, where BM25 is strong, rows distilled from a BM25 + encoder
teacher gained most; on reasoning corpora, where BM25 is weak, one-hot contrastive rows did better than the
defaults of earlier rounds, and merging half the base weights back (WiSE-FT) cost gains that it had protected on
SciFact. So each run trains its candidates (``contrastive``: one-hot rows, InfoNCE over in-batch and hard
negatives; ``distill``: rows scored by the teacher) and scores each, at every merge share, on the pseudo-dev rows
(``reasonir.evaluate.pseudo_dev``: synthesized queries of held-out seeds, kept by BM25's round trip, a ranker
that is none of the candidates).

Choosing among several candidates on the same queries that then vouch for the winner would flatter it (the best of
four noisy scores is high partly by luck), so the dev queries are split in two: the *choose* half picks the best
candidate, the *confirm* half decides whether it beats the base beyond the 95% paired bootstrap interval
(:func:`reasonir.evaluate.pseudo_dev.compare`). When it does not, the base model is handed back and the report
says why: a run never leaves the retriever worse than it found it, as far as its own evidence can tell.

    >>> from reasonir.evaluate.pseudo_dev import Verdict
    >>> halves = split_queries([f"dev-{i}" for i in range(10)])
    >>> len(halves[0]) + len(halves[1]), set(halves[0]) & set(halves[1])
    (10, set())
"""
from __future__ import annotations

import hashlib
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasonir.evaluate.pseudo_dev import PseudoDev, Verdict, compare

BASE = "base"


@dataclass
class Candidate:
    """One model to judge: a recipe at a merge share (or the base), where it is saved, its pseudo-dev scores."""

    name: str  # "contrastive", "distill-merge0.5", "base"
    recipe: str
    merge: float
    path: str | None  # None: the base model by name
    scores: dict[str, float] = field(default_factory=dict)  # dev query id -> nDCG@10
    train: dict[str, Any] = field(default_factory=dict)  # steps, seconds, label-free training signals

    def mean(self, queries: Sequence[str]) -> float:
        return statistics.mean(self.scores[q] for q in queries) if queries else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "recipe": self.recipe, "merge": self.merge, "path": self.path,
                "pseudo_dev": round(statistics.mean(self.scores.values()), 4) if self.scores else None,
                "train": self.train}


@dataclass
class Choice:
    """The candidate handed back and why."""

    chosen: Candidate
    best: Candidate  # the best on the choose half (may be the base)
    confirm: Verdict  # the best against the base on the confirm half
    candidates: list[Candidate]
    choose_queries: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"chosen": self.chosen.name, "best_on_choose_half": self.best.name, "reason": self.reason,
                "confirm": self.confirm.as_dict(), "choose_queries": self.choose_queries,
                "confirm_queries": self.confirm.n, "candidates": [c.as_dict() for c in self.candidates]}


def split_queries(ids: Sequence[str], salt: str = "choose") -> tuple[list[str], list[str]]:
    """(choose half, confirm half) of the dev query ids, by a hash of each id (stable, order-free)."""
    choose, confirm = [], []
    for qid in ids:
        (choose if hashlib.sha256(f"{salt}:{qid}".encode()).digest()[0] % 2 == 0 else confirm).append(qid)
    return choose, confirm


def choose(candidates: Sequence[Candidate], base: Candidate) -> Choice:
    """The best candidate on the choose half, handed back only if it beats the base on the confirm half."""
    choose_ids, confirm_ids = split_queries(sorted(base.scores))
    ranked = sorted([base, *candidates], key=lambda c: (c.mean(choose_ids), c is base), reverse=True)
    best = ranked[0]
    verdict = compare({q: base.scores[q] for q in confirm_ids}, {q: best.scores[q] for q in confirm_ids})
    if best is base:
        return Choice(base, best, verdict, list(candidates), len(choose_ids),
                      "no candidate scored above the base on the pseudo-dev set: the base model is handed back")
    if verdict.better:
        return Choice(best, best, verdict, list(candidates), len(choose_ids),
                      f"{best.name} was best on the choose half and beats the base on the confirm half "
                      f"({verdict.describe()})")
    return Choice(base, best, verdict, list(candidates), len(choose_ids),
                  f"{best.name} was best on the choose half but its gain on the confirm half is within noise "
                  f"({verdict.describe()}): the base model is handed back")


def score_model(model: str | None, dev: PseudoDev, *, encoder_backend: str | None = None) -> dict[str, float]:
    """A dense retriever over ``model`` (None: the default encoder) scored on the pseudo-dev set."""
    from reasonir.retrieve import DenseRetriever

    retriever = DenseRetriever(model, query_instruction="", document_instruction="", show_progress=False,
                               use_cache=model is None, encoder_backend=encoder_backend)
    return dev.score(retriever)


def merged_copy(model_dir: Path, base_model: str | None, share: float, target: Path) -> Path:
    """``model_dir`` with ``share`` of the base model's weights mixed back (WiSE-FT), saved at ``target``."""
    from sentence_transformers import SentenceTransformer

    from reasonir.models import resolve_model
    from reasonir.train.model import copy_state, merge_weights

    if (target / "config_sentence_transformers.json").exists():
        return target
    model = SentenceTransformer(str(model_dir), device="cpu")
    merge_weights(model, copy_state(SentenceTransformer(resolve_model(base_model), device="cpu")), share)
    partial = target.with_name(target.name + ".partial")
    model.save(str(partial))
    partial.rename(target)
    return target


def judge_candidates(trained: Mapping[str, tuple[Path, dict[str, Any]]], merges: Sequence[float], dev: PseudoDev,
                     work: Path, base_model: str | None, *, encoder_backend: str | None = None,
                     log: Callable[[str], None] = print) -> tuple[Candidate, list[Candidate]]:
    """The base and every (recipe, merge) candidate scored on ``dev``; merged models are saved under ``work``."""
    base = Candidate(BASE, BASE, 1.0, None, score_model(base_model, dev, encoder_backend=encoder_backend))
    log(f"      base model on the pseudo-dev set: nDCG@10 {statistics.mean(base.scores.values()):.4f}")
    out = []
    for recipe, (model_dir, stats) in trained.items():
        for share in merges:
            name = recipe if share == 0 else f"{recipe}-merge{share:g}"
            path = model_dir if share == 0 else merged_copy(model_dir, base_model, share, work / name)
            candidate = Candidate(name, recipe, share, str(path), score_model(str(path), dev,
                                                                               encoder_backend=encoder_backend),
                                  stats)
            log(f"      {name}: pseudo-dev nDCG@10 {statistics.mean(candidate.scores.values()):.4f}")
            out.append(candidate)
    return base, out
