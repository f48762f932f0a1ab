"""Cross-fitted judging: folds by seed, the rows each fold's copy may train on, and intervals that resample seeds."""
from __future__ import annotations

import random

from reasonir.data import Document, TrainingRow
from reasonir.evaluate.crossfit import JudgeSet, compare, fold_of, training_rows
from reasonir.evaluate.stats import paired_bootstrap
from reasonir.retrieve import BM25Retriever


def test_folds_are_stable_and_roughly_even() -> None:
    folds = [fold_of(f"doc-{i}", 3) for i in range(3000)]
    assert folds == [fold_of(f"doc-{i}", 3) for i in range(3000)]
    assert all(900 < folds.count(k) < 1100 for k in range(3))


def test_a_fold_copy_trains_on_every_other_fold_and_keeps_the_judge_rows_for_its_holdout() -> None:
    rows = [TrainingRow(f"q{i}", ["p"], seed_id=f"d{i}") for i in range(60)]
    judge = [TrainingRow(f"j{i}", ["p"], seed_id=f"d{i}", meta={"split": "judge"}) for i in range(60)]
    for fold in range(3):
        kept = training_rows(rows + judge, fold, 3)
        assert {r.seed_id for r in kept if not r.is_dev} == {f"d{i}" for i in range(60) if fold_of(f"d{i}", 3) != fold}
        assert sum(r.is_dev for r in kept) == 60
    assert training_rows(rows, None, 3) == rows


def test_each_fold_is_searched_by_its_own_model() -> None:
    docs = [Document(f"d{i}", f"topic{i} alpha beta") for i in range(12)]
    rows = [TrainingRow(f"topic{i}", [f"topic{i} alpha beta"], seed_id=f"d{i}", meta={"split": "judge"})
            for i in range(12)]
    judge = JudgeSet.from_rows(rows, docs, folds=2)

    class Blind(BM25Retriever):  # finds nothing: the queries of its fold score 0
        def search(self, queries, k=1000):
            return {q.id: {} for q in queries}

    scores = judge.score(judge.search([BM25Retriever(), Blind()]))
    assert all(scores[q] == (1.0 if judge.fold[q] == 0 else 0.0) for q in scores)
    assert set(judge.score(judge.search([BM25Retriever()])).values()) == {1.0}


def test_alike_queries_widen_the_interval_and_the_detectable_change_shrinks_with_more_seeds() -> None:
    rng = random.Random(0)
    seed_effects = [rng.gauss(0.02, 0.1) for _ in range(40)]
    diffs = [e for e in seed_effects for _ in range(5)]  # five identical queries per seed
    clusters = [s for s in range(40) for _ in range(5)]
    lo, hi = paired_bootstrap(diffs)
    clo, chi = paired_bootstrap(diffs, clusters=clusters)
    assert chi - clo > 1.8 * (hi - lo)  # about sqrt(5) wider: 40 independent seeds, not 200 queries
    small = compare({str(i): 0.5 for i in range(40)}, {str(i): 0.5 + seed_effects[i] for i in range(40)})
    many = [rng.gauss(0.02, 0.1) for _ in range(400)]
    large = compare({str(i): 0.5 for i in range(400)}, {str(i): 0.5 + many[i] for i in range(400)})
    assert large.detectable < small.detectable / 2 and large.seeds == 400
