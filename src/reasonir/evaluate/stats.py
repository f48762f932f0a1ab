"""Paired comparisons: is one system better than another on the same queries, beyond what chance explains?

A percentile bootstrap over queries (Efron & Tibshirani, 1993): resample the per-query differences with
replacement, take the mean each time, and read the 2.5th and 97.5th percentiles. Paired, because both systems
answered the same queries, so a hard query costs both.

    >>> lo, hi = paired_bootstrap([0.1, 0.2, 0.0, 0.15, 0.05, 0.1, 0.2, 0.1])
    >>> 0 < lo < hi
    True
"""
from __future__ import annotations

from collections.abc import Sequence

BOOTSTRAP_SAMPLES = 2000  # Efron & Tibshirani's usual order for percentile intervals


def paired_bootstrap(differences: Sequence[float], *, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0
                     ) -> tuple[float, float]:
    """95% percentile interval of the mean of per-query differences, resampling queries; (0, 0) for none."""
    import numpy as np

    if len(differences) == 0:
        return (0.0, 0.0)
    diffs = np.asarray(differences, dtype=float)
    rng = np.random.default_rng(seed)
    means = diffs[rng.integers(0, len(diffs), size=(samples, len(diffs)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return (float(lo), float(hi))
