"""Metrics computed by pytrec_eval as BRIGHT and BEIR do, named the way people write them ("nDCG@10").

A :class:`Measure` is a small value object: ``parse_measure("nDCG@10")`` gives ``Measure("ndcg", 10)``, whose
``key`` is the name in our outputs (``ndcg@10``) and whose ``trec`` is what pytrec_eval calls it.

Example:
    >>> parse_measure("nDCG@10").key, parse_measure("R@100").trec, parse_measure("MRR").key
    ('ndcg@10', 'recall_100', 'mrr')
    >>> round(evaluate_run({"q": {"d": 1}}, {"q": {"d": 2.0, "e": 1.0}})["ndcg@10"], 3)
    1.0
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

CUTOFFS = (1, 5, 10, 25, 50, 100)  # BRIGHT's cutoffs
# A judged query the run holds no document for: "zero" counts it as 0 in every mean (reasonir's default, the
# stricter choice); "skip" leaves it out of the means, as BRIGHT and BEIR do (pytrec_eval scores only queries
# present in the run). Outputs name the choice and how many queries it touched.
MissingQueries = Literal["zero", "skip"]

MeasureName = Literal["ndcg", "map", "recall", "p", "mrr"]
_TREC = {"ndcg": "ndcg_cut", "map": "map_cut", "recall": "recall", "p": "P", "mrr": "recip_rank"}
_ALIASES = {"ndcg": "ndcg", "map": "map", "recall": "recall", "r": "recall", "p": "p", "precision": "p",
            "mrr": "mrr", "rr": "mrr", "recip_rank": "mrr"}


@dataclass(frozen=True)
class Measure:
    name: MeasureName
    cutoff: int | None = None

    @property
    def key(self) -> str:
        """Our output name: ``ndcg@10``, ``recall@100``, ``mrr``."""
        return self.name if self.cutoff is None else f"{self.name}@{self.cutoff}"

    @property
    def trec(self) -> str:
        """pytrec_eval's result key: ``ndcg_cut_10``, ``recall_100``, ``recip_rank``."""
        return _TREC[self.name] if self.cutoff is None else f"{_TREC[self.name]}_{self.cutoff}"


def parse_measure(text: str) -> Measure:
    """Parse ``nDCG@10``, ``R@100``, ``P@5``, ``MAP@10``, ``MRR`` (case-insensitive)."""
    match = re.fullmatch(r"\s*([A-Za-z_]+)\s*(?:@\s*(\d+))?\s*", text)
    name = _ALIASES.get(match.group(1).lower()) if match else None
    if name is None:
        raise ValueError(f"unknown measure {text!r}; expected e.g. nDCG@10, MAP@10, R@100, P@5, MRR")
    cutoff = int(match.group(2)) if match.group(2) else None
    if (name == "mrr") != (cutoff is None):
        raise ValueError(f"{text!r}: MRR takes no cutoff, the other measures need one (e.g. nDCG@10)")
    return Measure(name, cutoff)  # type: ignore[arg-type]


# BRIGHT's metric set: nDCG, MAP, recall and P at each cutoff, and MRR.
BRIGHT_MEASURES: tuple[Measure, ...] = tuple(
    Measure(name, c) for name in ("ndcg", "map", "recall", "p") for c in CUTOFFS  # type: ignore[arg-type]
) + (Measure("mrr"),)


def _measures(measures: Iterable[Measure | str] | None) -> list[Measure]:
    return [m if isinstance(m, Measure) else parse_measure(m) for m in (measures or BRIGHT_MEASURES)]


def _trec_request(measures: Sequence[Measure]) -> set[str]:
    groups: dict[str, set[str]] = {}
    for m in measures:
        groups.setdefault(_TREC[m.name], set()).update([str(m.cutoff)] if m.cutoff is not None else [])
    return {f"{name}.{','.join(sorted(cuts, key=int))}" if cuts else name for name, cuts in groups.items()}


def missing_queries(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> list[str]:
    """Judged queries for which the run holds no document."""
    return sorted(qid for qid in qrels if not run.get(qid))


def evaluate_per_query(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]],
                       measures: Iterable[Measure | str] | None = None,
                       missing: MissingQueries = "zero") -> dict[str, dict[str, float]]:
    """``{qid: {"ndcg@10": ...}}`` for every judged query; a query missing from the run scores 0 everywhere
    (``missing="zero"``) or is left out (``missing="skip"``, BRIGHT and BEIR)."""
    import pytrec_eval

    if missing not in ("zero", "skip"):
        raise ValueError(f"missing must be 'zero' or 'skip', not {missing!r}")
    chosen = _measures(measures)
    scored = pytrec_eval.RelevanceEvaluator(qrels, _trec_request(chosen)).evaluate(run)
    return {qid: {m.key: float(scored[qid][m.trec]) if qid in scored else 0.0 for m in chosen} for qid in qrels
            if missing == "zero" or run.get(qid)}


def evaluate_run(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]],
                 measures: Iterable[Measure | str] | None = None, missing: MissingQueries = "zero") -> dict[str, float]:
    """Mean of each measure over judged queries (default: BRIGHT's set), keys like ``ndcg@10`` and ``mrr``.

    >>> qrels = {"q1": {"d": 1}, "q2": {"d": 1}}
    >>> evaluate_run(qrels, {"q1": {"d": 1.0}}, ["nDCG@10"]), evaluate_run(qrels, {"q1": {"d": 1.0}}, ["nDCG@10"], "skip")
    ({'ndcg@10': 0.5}, {'ndcg@10': 1.0})
    """
    chosen = _measures(measures)
    per_query = evaluate_per_query(qrels, run, chosen, missing)
    n = max(len(per_query), 1)
    return {m.key: sum(scores[m.key] for scores in per_query.values()) / n for m in chosen}
