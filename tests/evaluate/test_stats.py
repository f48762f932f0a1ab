from __future__ import annotations

from reasonir.evaluate.stats import paired_bootstrap


def test_paired_bootstrap_brackets_the_mean_and_is_seeded() -> None:
    diffs = [1] * 30 + [0] * 60 + [-1] * 10
    lo, hi = paired_bootstrap(diffs)
    assert lo < 0.2 < hi and lo > 0 and paired_bootstrap(diffs) == (lo, hi)
    assert paired_bootstrap([0] * 20) == (0.0, 0.0) and paired_bootstrap([]) == (0.0, 0.0)


def test_paired_bootstrap_of_small_real_valued_changes_straddles_zero() -> None:
    lo, hi = paired_bootstrap([0.3, -0.2, 0.1, -0.1, 0.0, 0.05, -0.15, 0.02])
    assert lo < 0 < hi
