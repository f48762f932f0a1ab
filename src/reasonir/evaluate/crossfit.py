"""Cross-fitted judging: every synthesized seed judges the models that never trained on it.

A run without labelled queries must still tell whether a fine-tuned encoder (or a hybrid with BM25) beats the base
model on its corpus. Its only queries are the synthesized ones, and a model must not be judged on the seeds it
trained on. Setting seeds aside (``reasonir.synth.devset``) leaves few judge queries (11 to 41 in earlier runs) and
costs training rows. Cross-fitting (Chernozhukov et al., 2018, in its simplest form) uses them all: the seeds fall
into ``K`` folds by a hash of their id; a candidate recipe is trained ``K`` more times, each time without one fold,
and each fold's judge rows score the model that never saw that fold. The model handed back is the one trained on
every row, judged through its fold copies.

Judge rows (``meta["split"] == "judge"``, written by the synthesizer) are every candidate of a seed that passed the
lexical filters, chosen by no ranker, so the judge favours no model being judged (the training rows are the base
encoder's round-trip picks and would flatter it). Candidates of one seed are alike, so intervals resample seeds, not
queries (:func:`reasonir.evaluate.stats.paired_bootstrap` with ``clusters``).

    >>> from reasonir.data import Document, TrainingRow
    >>> docs = [Document(f"d{i}", f"text {i}") for i in range(4)]
    >>> rows = [TrainingRow(f"q{i}", [f"text {i}"], seed_id=f"d{i}", meta={"split": "judge"}) for i in range(4)]
    >>> judge = JudgeSet.from_rows(rows, docs, folds=2)
    >>> len(judge), sorted(set(judge.fold.values())) == [0, 1]
    (4, True)
    >>> [fold_of("d0", 2) == judge.fold[q.id] for q in judge.dataset.queries][:1]
    [True]
"""
from __future__ import annotations

import hashlib
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reasonir.data.records import Dataset, Document, Query, TrainingRow
from reasonir.evaluate.metrics import evaluate_per_query
from reasonir.evaluate.stats import paired_bootstrap
from reasonir.retrieve.base import Retriever, Run
from reasonir.retrieve.hybrid import FUSION_DEPTH

MEASURE = "ndcg@10"  # what BRIGHT and BEIR report, so a judge figure reads like a real one
DEPTH = FUSION_DEPTH  # documents each retriever returns per judge query: what a served hybrid fuses
# 3 folds: each fold model trains on two thirds of the rows, close enough to the full model to stand for it, at
# four trainings per recipe (our choice; 2 folds halve the data, 5 cost six trainings)
FOLDS = 3
# real nDCG@10 changes smaller than this are within labelled queries' own noise: no sign for the judge to agree with
MATTERS = 0.005
# 80% power at 5% two-sided: a true change of (1.96 + 0.84) standard errors is detected 4 times in 5
POWER_Z = 1.96 + 0.84


def fold_of(seed_id: str, folds: int, salt: str = "crossfit") -> int:
    """The fold of a seed: a hash of its id (stable across runs and resumes, independent of order)."""
    return int.from_bytes(hashlib.sha256(f"{salt}\0{seed_id}".encode()).digest()[:8], "big") % folds


def training_rows(rows: Sequence[TrainingRow], fold: int | None, folds: int) -> list[TrainingRow]:
    """The rows a model may train on: every training row (``fold=None``: the model handed back), or those of the
    seeds outside ``fold``. Judge and dev rows are left in (the trainer never trains on them)."""
    return [r for r in rows if r.is_dev or fold is None or r.seed_id is None or fold_of(r.seed_id, folds) != fold]


@dataclass
class JudgeSet:
    """Judge queries over the whole corpus, each with its seed (the one relevant document) and its fold."""

    dataset: Dataset
    fold: dict[str, int]  # query id -> fold
    seed: dict[str, str]  # query id -> seed id (the bootstrap's cluster)
    folds: int

    @classmethod
    def from_rows(cls, rows: Sequence[TrainingRow], documents: Sequence[Document], folds: int = FOLDS) -> JudgeSet:
        """Judge (and pseudo-dev) rows whose seed is a corpus document, as queries over ``documents``."""
        known = {d.id for d in documents}
        judged = [r for r in rows if r.is_dev and r.seed_id in known]
        queries = [Query(f"judge-{i}", r.query) for i, r in enumerate(judged)]
        return cls(Dataset(list(documents), queries, {q.id: {str(r.seed_id): 1} for q, r in zip(queries, judged)}),
                   {q.id: fold_of(str(r.seed_id), folds) for q, r in zip(queries, judged)},
                   {q.id: str(r.seed_id) for q, r in zip(queries, judged)}, folds)

    def __len__(self) -> int:
        return len(self.dataset.queries)

    @property
    def seeds(self) -> int:
        return len(set(self.seed.values()))

    def queries(self, fold: int | None = None) -> list[Query]:
        return [q for q in self.dataset.queries if fold is None or self.fold[q.id] == fold]

    def search(self, models: Sequence[Retriever]) -> Run:
        """One run over every judge query: one retriever for all (``len(models) == 1``), or one per fold, each
        searching only its own fold's queries (each is indexed over the corpus here)."""
        if len(models) not in (1, self.folds):
            raise ValueError(f"{len(models)} models for {self.folds} folds")
        run: Run = {}
        for fold, model in enumerate(models):
            queries = self.queries(None if len(models) == 1 else fold)
            if queries:
                run.update(model.index(self.dataset.documents).search(queries, k=DEPTH))
        return run

    def score(self, run: Run) -> dict[str, float]:
        """nDCG@10 per judge query (0 where the seed is not returned)."""
        return {qid: s[MEASURE] for qid, s in evaluate_per_query(self.dataset.qrels, run, [MEASURE]).items()}


@dataclass(frozen=True)
class Verdict:
    """A candidate against a baseline on the same judge queries, with the judge's power at that size."""

    n: int
    seeds: int
    baseline: float
    candidate: float
    ci95: tuple[float, float]  # of the mean per-query change, resampling seeds
    detectable: float  # the smallest true change found 4 times in 5 at this size and spread (80% power)

    @property
    def change(self) -> float:
        return self.candidate - self.baseline

    @property
    def better(self) -> bool:
        """The whole interval lies above zero: more than the judge's noise."""
        return self.n > 0 and self.ci95[0] > 0

    @property
    def worse(self) -> bool:
        return self.n > 0 and self.ci95[1] < 0

    def describe(self) -> str:
        return (f"judge {MEASURE} {self.baseline:.3f} -> {self.candidate:.3f} ({self.change:+.3f}, 95% CI "
                f"{self.ci95[0]:+.3f} to {self.ci95[1]:+.3f}; {self.n} queries from {self.seeds} seeds can detect "
                f"{self.detectable:.3f})")

    def as_dict(self) -> dict[str, object]:
        return {"n": self.n, "seeds": self.seeds, "baseline": round(self.baseline, 4),
                "candidate": round(self.candidate, 4), "change": round(self.change, 4),
                "ci95": [round(x, 4) for x in self.ci95], "detectable_change": round(self.detectable, 4),
                "better": self.better, "worse": self.worse}


def compare(baseline: Mapping[str, float], candidate: Mapping[str, float],
            clusters: Mapping[str, str] | None = None) -> Verdict:
    """The candidate's per-query scores against the baseline's on the queries both have; ``clusters`` (query id ->
    seed id) makes the interval resample seeds.

    >>> v = compare({"q1": 0.5, "q2": 0.0, "q3": 1.0}, {"q1": 1.0, "q2": 0.5, "q3": 1.0})
    >>> round(v.change, 3), v.n, v.detectable > 0
    (0.333, 3, True)
    """
    shared = sorted(set(baseline) & set(candidate))
    if not shared:
        return Verdict(0, 0, 0.0, 0.0, (0.0, 0.0), 0.0)
    groups = [clusters[q] for q in shared] if clusters is not None else None
    diffs = [candidate[q] - baseline[q] for q in shared]
    lo, hi = paired_bootstrap(diffs, clusters=groups)
    standard_error = (hi - lo) / (2 * 1.96)
    return Verdict(len(shared), len(set(groups)) if groups else len(shared),
                   statistics.fmean(baseline[q] for q in shared), statistics.fmean(candidate[q] for q in shared),
                   (lo, hi), POWER_Z * standard_error)


def sign_agreement(changes: Sequence[tuple[float, float]]) -> tuple[int, int]:
    """(judge changes with the real change's sign, real changes that matter) over (judge, real) change pairs.

    >>> sign_agreement([(0.01, 0.02), (0.01, -0.03), (0.02, 0.001)])
    (1, 2)
    """
    mattered = [(judge, real) for judge, real in changes if abs(real) >= MATTERS]
    return sum((judge > 0) == (real > 0) for judge, real in mattered), len(mattered)
