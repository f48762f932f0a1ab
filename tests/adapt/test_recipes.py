"""The choice among judged retrievers: the best on one half of the seeds, kept only if it beats the base encoder on
the other half beyond the judge's noise."""
from __future__ import annotations

import random

from reasonir.adapt.recipes import Candidate, choose, split_seeds


def _scores(n_seeds: int, per_seed: int, shift: float, noise: float = 0.3, seed: int = 0) -> dict[str, float]:
    rng = random.Random(seed)
    return {f"s{s}-q{q}": min(1.0, max(0.0, 0.5 + shift + rng.uniform(-noise, noise)))
            for s in range(n_seeds) for q in range(per_seed)}


SEED_OF = {f"s{s}-q{q}": f"s{s}" for s in range(200) for q in range(3)}


def test_a_clear_gain_is_handed_back_with_its_form_and_weight() -> None:
    base = Candidate("base", "base", 1.0, None, scores=_scores(200, 3, 0.0))
    gain = Candidate("base + bm25 (0.5)", "base", 1.0, None, "hybrid", 0.5,
                     scores={q: min(1.0, s + 0.1) for q, s in base.scores.items()})
    choice = choose([gain], base, SEED_OF)
    assert choice.chosen is gain and choice.confirm.better
    assert choice.as_dict()["form"] == "hybrid" and choice.as_dict()["weight"] == 0.5
    assert gain.overall is not None and gain.overall.change > 0.05  # every candidate's change over all queries


def test_noise_hands_back_the_base_and_says_what_could_have_been_seen() -> None:
    base = Candidate("base", "base", 1.0, None, scores=_scores(200, 3, 0.0, seed=1))
    noisy = Candidate("contrastive", "contrastive", 0.0, "/m", scores=_scores(200, 3, 0.0, seed=2))
    choice = choose([noisy], base, SEED_OF)
    assert choice.chosen is base and "base" in choice.reason
    assert choice.rival is noisy and choice.confirm.detectable > 0  # what the judge could have seen


def test_a_tie_goes_to_the_base_then_to_dense() -> None:
    base = Candidate("base", "base", 1.0, None, scores=_scores(200, 3, 0.0))
    same = Candidate("contrastive", "contrastive", 0.0, "/m", scores=dict(base.scores))
    assert choose([same], base, SEED_OF).best is base
    up = {q: min(1.0, s + 0.2) for q, s in base.scores.items()}
    dense = Candidate("contrastive", "contrastive", 0.0, "/m", scores=up)
    hybrid = Candidate("contrastive + bm25 (0.5)", "contrastive", 0.0, "/m", "hybrid", 0.5, scores=dict(up))
    assert choose([hybrid, dense], base, SEED_OF).chosen is dense


def test_the_halves_keep_a_seeds_queries_together() -> None:
    choose_half, confirm_half = split_seeds(SEED_OF)
    assert {SEED_OF[q] for q in choose_half}.isdisjoint({SEED_OF[q] for q in confirm_half})
    assert 0.4 < len(choose_half) / len(SEED_OF) < 0.6
