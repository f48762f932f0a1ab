"""Quality against cost, as the ReasonIR paper's Fig. 1a draws it, and quality against the rewrite budget.

matplotlib is an optional dependency (``pip install 'reasonir[plot]'``), imported only here, with the headless
``Agg`` backend. The FLOPs axis is symmetric-log so that a lexical retriever (0 FLOPs) sits at the left edge.

Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "cost.png")
    >>> plot_quality_vs_cost({"bm25": (0.67, 0.0), "bm25+rerank": (0.70, 3e12)}, path)  # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def _pyplot():
    from reasonir.optional import require

    matplotlib = require("matplotlib", "plot", purpose="plots")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> Path:
    """Write the PNG atomically (a crash never leaves half a picture)."""
    from reasonir.data.atomic import atomic_open

    with atomic_open(path, overwrite=True, binary=True) as fh:
        fig.savefig(fh, format="png", dpi=120, bbox_inches="tight")
    return Path(path)


def plot_quality_vs_cost(points: Mapping[str, tuple[float, float | None]], path: str | Path, *,
                         title: str = "", metric: str = "nDCG@10") -> Path:
    """One labelled point per pipeline: ``{name: (quality, flops_per_query)}``; unknown FLOPs are left out and
    named in the title."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    unknown = [name for name, (_, f) in points.items() if f is None]
    known = {name: (q, f) for name, (q, f) in points.items() if f is not None}
    for name, (quality, flops) in known.items():
        ax.scatter([flops], [quality], s=40)
        ax.annotate(name, (flops, quality), textcoords="offset points", xytext=(5, 4), fontsize=8)
    smallest = min([f for _, f in known.values() if f > 0], default=1e9)
    ax.set_xscale("symlog", linthresh=smallest / 10)
    ax.set_xlabel("FLOPs per query (2 x parameters x tokens; symlog scale)")
    ax.set_ylabel(metric)
    ax.grid(True, alpha=0.3)
    ax.set_title(title + (f"\n(FLOPs unknown, not drawn: {', '.join(unknown)})" if unknown else ""), fontsize=9)
    out = _save(fig, path)
    plt.close(fig)
    return out


def plot_budget_curve(curves: Mapping[str, Mapping[int, float]], path: str | Path, *, title: str = "",
                      metric: str = "nDCG@10", baselines: Mapping[str, float] | None = None) -> Path:
    """``{pipeline: {budget: quality}}`` as lines over the rewrite budget (log2 axis); ``baselines`` (no
    rewriting) as dashed horizontal lines."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in curves.items():
        budgets = sorted(curve)
        ax.plot(budgets, [curve[b] for b in budgets], marker="o", label=name)
    for name, value in (baselines or {}).items():
        ax.axhline(value, linestyle="--", linewidth=1, color="gray")
        ax.annotate(f"{name} (no rewrite)", (ax.get_xlim()[0], value), fontsize=7, va="bottom")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("rewrite budget (generated tokens)")
    ax.set_ylabel(metric)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    out = _save(fig, path)
    plt.close(fig)
    return out


def plot_bars(groups: Mapping[str, Mapping[str, float]], path: str | Path, *, title: str = "",
              metric: str = "nDCG@10", highlight: str | None = None) -> Path:
    """Grouped bars: ``{series: {model: score}}`` (e.g. pseudo-dev and real nDCG@10 per model), the model named
    ``highlight`` outlined."""
    plt = _pyplot()
    models = list(dict.fromkeys(m for series in groups.values() for m in series))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(models) + 2), 4))
    width = 0.8 / max(len(groups), 1)
    for i, (series, scores) in enumerate(groups.items()):
        xs = [j + i * width for j, m in enumerate(models) if m in scores]
        bars = ax.bar(xs, [scores[m] for m in models if m in scores], width, label=series)
        for x, m, bar in zip(xs, [m for m in models if m in scores], bars):
            ax.annotate(f"{scores[m]:.3f}", (x, bar.get_height()), ha="center", va="bottom", fontsize=7)
            if m == highlight:
                bar.set_edgecolor("black")
                bar.set_linewidth(2)
    ax.set_xticks([j + width * (len(groups) - 1) / 2 for j in range(len(models))])
    ax.set_xticklabels(models, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(metric)
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_title(title, fontsize=9)
    out = _save(fig, path)
    plt.close(fig)
    return out
