"""Train the candidate recipes, judge every retriever they make on the corpus's own synthesized queries, and hand
back one only if it beats the base encoder.

What wins depends on the corpus: on SciFact, reasonir's contrastive rows merged half-way back into the base
(WiSE-FT) gained +0.010 nDCG@10 and a hybrid of BM25 and the base +0.08; on a reasoning corpus, unmerged
multi-epoch contrastive rows gained and BM25 added nothing. So a run makes every candidate retriever: the base and
each trained encoder (``contrastive``: one-hot rows, InfoNCE over in-batch and hard negatives; ``distill``: rows
scored by the teacher), each at every merge share, each alone (``dense``) or fused with BM25 at every hybrid weight.

Each is judged on the judge rows by cross-fitting (``reasonir.evaluate.crossfit``): a recipe is trained once per
fold without that fold's seeds, and each fold's judge queries score the copy that never saw them. Choosing among
many candidates on the same queries that then vouch for the winner would flatter it (the best of twenty noisy
scores is high partly by luck), so the judge's seeds are split in two: the *choose* half picks the best retriever,
the *confirm* half keeps it only if it beats the base encoder (dense) beyond the 95% interval, seeds resampled.
Otherwise the base is handed back and the report says why, beside the smallest change the judge could have seen.

    >>> halves = split_seeds({f"q{i}": f"seed-{i // 3}" for i in range(30)})
    >>> len(halves[0]) + len(halves[1]), set(halves[0]) & set(halves[1])
    (30, set())
"""
from __future__ import annotations

import hashlib
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from reasonir.evaluate.crossfit import DEPTH, JudgeSet, Verdict, compare
from reasonir.retrieve.base import Run

BASE = "base"
Form = Literal["dense", "hybrid"]


@dataclass
class Candidate:
    """One retriever to judge: an encoder (a recipe at a merge share, or the base), alone or fused with BM25."""

    name: str  # "contrastive-merge0.5", "base + bm25 (0.5)"
    recipe: str  # "contrastive", "distill" or "base"
    merge: float
    path: str | None  # the encoder handed back if chosen (trained on every row); None: the base model by name
    form: Form = "dense"
    weight: float = 1.0  # the encoder's share of the fused score (the rest is BM25's); 1.0 for dense
    scores: dict[str, float] = field(default_factory=dict)  # judge query id -> nDCG@10 (fold copies for recipes)
    train: dict[str, Any] = field(default_factory=dict)  # steps, seconds, label-free training signals
    overall: Verdict | None = None  # against the base encoder on every judge query (set by ``choose``)

    def mean(self, queries: Sequence[str]) -> float:
        return statistics.fmean(self.scores[q] for q in queries) if queries else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "recipe": self.recipe, "merge": self.merge, "path": self.path, "form": self.form,
                "weight": self.weight,
                "judge": round(statistics.fmean(self.scores.values()), 4) if self.scores else None,
                **({"judge_change": round(self.overall.change, 4), "judge_ci95": [round(x, 4) for x in
                   self.overall.ci95], "judge_detectable": round(self.overall.detectable, 4)} if self.overall else {}),
                "train": self.train}


@dataclass
class Choice:
    """The retriever handed back and why."""

    chosen: Candidate
    best: Candidate  # the best on the choose half (may be the base)
    rival: Candidate  # the best other than the base on the choose half
    confirm: Verdict  # the rival against the base, on the confirm half
    candidates: list[Candidate]
    choose_queries: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"chosen": self.chosen.name, "encoder": self.chosen.recipe if self.chosen.recipe == BASE else
                encoder_name(self.chosen.recipe, self.chosen.merge),
                "form": self.chosen.form, "weight": self.chosen.weight,
                "best_on_choose_half": self.best.name, "reason": self.reason,
                "confirm_candidate": self.rival.name, "confirm": self.confirm.as_dict(),
                "choose_queries": self.choose_queries, "confirm_queries": self.confirm.n,
                "candidates": [c.as_dict() for c in self.candidates]}


def encoder_name(recipe: str, merge: float) -> str:
    return recipe if merge == 0 or recipe == BASE else f"{recipe}-merge{merge:g}"


def split_seeds(seed_of: Mapping[str, str], salt: str = "choose") -> tuple[list[str], list[str]]:
    """(choose half, confirm half) of the judge query ids, by a hash of each query's seed: queries written from
    one seed are alike, so they stay on one side."""
    choose, confirm = [], []
    for qid in sorted(seed_of):
        digest = hashlib.sha256(f"{salt}:{seed_of[qid]}".encode()).digest()
        (choose if digest[0] % 2 == 0 else confirm).append(qid)
    return choose, confirm


def choose(candidates: Sequence[Candidate], base: Candidate, seed_of: Mapping[str, str]) -> Choice:
    """The best retriever on the choose half, handed back only if it beats the base encoder on the confirm half."""
    choose_ids, confirm_ids = split_seeds({q: seed_of[q] for q in base.scores})
    for candidate in candidates:  # reported beside each one's real change when labels exist; chooses nothing
        candidate.overall = compare(base.scores, candidate.scores, clusters=seed_of)
    # ties go to the base, then to the simpler retriever (dense before hybrid)
    ranked = sorted([base, *candidates], key=lambda c: (c.mean(choose_ids), c is base, c.form == "dense"),
                    reverse=True)
    best = ranked[0]
    # the best candidate other than the base is what the confirm half is asked about, so the report says what
    # the judge could have seen even when the base wins the choose half
    rival = next((c for c in ranked if c is not base), base)
    verdict = compare({q: base.scores[q] for q in confirm_ids}, {q: rival.scores[q] for q in confirm_ids},
                      clusters=seed_of)
    if best is base:
        return Choice(base, best, rival, verdict, list(candidates), len(choose_ids),
                      "no candidate scored above the base encoder on the judge queries: the base is handed back")
    if verdict.better:
        return Choice(best, best, rival, verdict, list(candidates), len(choose_ids),
                      f"{best.name} was best on the choose half and beats the base on the confirm half "
                      f"({verdict.describe()})")
    return Choice(base, best, rival, verdict, list(candidates), len(choose_ids),
                  f"{best.name} was best on the choose half but its gain on the confirm half is within noise "
                  f"({verdict.describe()}): the base is handed back")


def dense_retriever(model: str | None, encoder_backend: str | None = None):
    """The dense retriever every candidate is judged with: no instructions, as BERT-style encoders are trained and
    searched (``TrainConfig.instruction_format``)."""
    from reasonir.retrieve import DenseRetriever

    return DenseRetriever(model, query_instruction="", document_instruction="", show_progress=False,
                          use_cache=model is None, encoder_backend=encoder_backend)


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


def with_bm25(bm25_run: Run, dense_run: Run, weight: float, depth: int = DEPTH) -> Run:
    """The hybrid form of a dense run: fused with BM25's, the encoder weighing ``weight``, as a served hybrid index
    fuses (``HybridRetriever`` with weights ``[1 - weight, weight]``)."""
    from reasonir.retrieve.hybrid import fuse_weighted, top_k

    return top_k(fuse_weighted([bm25_run, dense_run], [1 - weight, weight]), depth)


def forms(encoder: Candidate, dense_run: Run, bm25_run: Run, weights: Sequence[float], judge: JudgeSet
          ) -> list[Candidate]:
    """The encoder alone and fused with BM25 at each weight, each scored on the judge queries."""
    encoder.scores = judge.score(dense_run)
    out = [encoder]
    for weight in weights:
        fused = with_bm25(bm25_run, dense_run, weight)
        out.append(Candidate(f"{encoder.name} + bm25 ({weight:g})", encoder.recipe, encoder.merge, encoder.path,
                             "hybrid", weight, judge.score(fused), encoder.train))
    return out


@dataclass
class Trained:
    """A recipe's encoders: the one trained on every row (handed back) and one per fold (judged)."""

    full: Path
    folds: list[Path]
    stats: dict[str, Any]


def judge_candidates(trained: Mapping[str, Trained], merges: Sequence[float], hybrid_weights: Sequence[float],
                     judge: JudgeSet, work: Path, base_model: str | None, *, encoder_backend: str | None = None,
                     log: Callable[[str], None] = print) -> tuple[Candidate, list[Candidate]]:
    """The base encoder (dense) and every other retriever, scored on ``judge``; merged encoders go under ``work``."""
    from reasonir.retrieve import BM25Retriever

    bm25_run = judge.search([BM25Retriever()])
    base_forms = forms(Candidate(BASE, BASE, 1.0, None), judge.search([dense_retriever(base_model, encoder_backend)]),
                       bm25_run, hybrid_weights, judge)
    base = base_forms[0]
    log(f"      judge: {len(judge)} queries from {judge.seeds} seeds in {judge.folds} folds; "
        + ", ".join(f"{c.name} {statistics.fmean(c.scores.values()):.4f}" for c in base_forms))
    out = base_forms[1:]
    for recipe, models in trained.items():
        for share in merges:
            name = encoder_name(recipe, share)
            if share == 0:
                full, folds = models.full, models.folds
            else:
                full = merged_copy(models.full, base_model, share, work / recipe / f"full-merge{share:g}")
                folds = [merged_copy(f, base_model, share, work / recipe / f"{f.name}-merge{share:g}")
                         for f in models.folds]
            run = judge.search([dense_retriever(str(f), encoder_backend) for f in folds])
            made = forms(Candidate(name, recipe, share, str(full), train=models.stats), run, bm25_run,
                         hybrid_weights, judge)
            log(f"      {name}: " + ", ".join(f"{'dense' if c.form == 'dense' else c.weight} "
                                          f"{statistics.fmean(c.scores.values()):.4f}" for c in made))
            out.extend(made)
    return base, out
