"""Paired comparisons: is one system better than another on the same queries, beyond what chance explains?

A percentile bootstrap over queries (Efron & Tibshirani, 1993): resample the per-query differences with
replacement, take the mean each time, and read the 2.5th and 97.5th percentiles. Paired, because both systems
answered the same queries, so a hard query costs both.

    >>> lo, hi = paired_bootstrap([0.1, 0.2, 0.0, 0.15, 0.05, 0.1, 0.2, 0.1])
    >>> 0 < lo < hi
    True
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence

BOOTSTRAP_SAMPLES = 2000  # Efron & Tibshirani's usual order for percentile intervals


def paired_bootstrap(differences: Sequence[float], *, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0,
                     clusters: Sequence[Hashable] | None = None) -> tuple[float, float]:
    """95% percentile interval of the mean of per-query differences, resampling queries; (0, 0) for none.

    ``clusters`` (one label per difference) resamples whole clusters instead: queries written from the same seed
    document are alike, and treating them as independent would make the interval too narrow (a cluster
    bootstrap, Davison & Hinkley, 1997, section 3.8).

    >>> lo, hi = paired_bootstrap([0.1, 0.1, 0.0, 0.0], clusters=["a", "a", "b", "b"])
    >>> (round(lo, 2), round(hi, 2))
    (0.0, 0.1)
    """
    import numpy as np

    if len(differences) == 0:
        return (0.0, 0.0)
    diffs = np.asarray(differences, dtype=float)
    rng = np.random.default_rng(seed)
    if clusters is None:
        means = diffs[rng.integers(0, len(diffs), size=(samples, len(diffs)))].mean(axis=1)
    else:
        labels = {label: i for i, label in enumerate(dict.fromkeys(clusters))}
        index = np.fromiter((labels[c] for c in clusters), dtype=int, count=len(diffs))
        sums = np.bincount(index, weights=diffs, minlength=len(labels))
        sizes = np.bincount(index, minlength=len(labels)).astype(float)
        picks = rng.integers(0, len(labels), size=(samples, len(labels)))
        means = sums[picks].sum(axis=1) / sizes[picks].sum(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return (float(lo), float(hi))
