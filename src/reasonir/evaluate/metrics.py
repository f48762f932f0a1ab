"""Mean metrics over queries, computed by pytrec_eval as BRIGHT and BEIR do."""
from __future__ import annotations

CUTOFFS = (1, 5, 10, 25, 50, 100)  # BRIGHT's cutoffs


def evaluate_run(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> dict[str, float]:
    """Return ``{"ndcg@10": ..., "map@10": ..., "recall@10": ..., "p@10": ..., "mrr": ...}`` averaged over judged queries.

    Example:
        >>> round(evaluate_run({"q": {"d": 1}}, {"q": {"d": 2.0, "e": 1.0}})["ndcg@10"], 3)
        1.0
    """
    import pytrec_eval

    cut = ",".join(map(str, CUTOFFS))
    measures = {f"ndcg_cut.{cut}", f"map_cut.{cut}", f"recall.{cut}", f"P.{cut}", "recip_rank"}
    per_query = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    names = {"ndcg_cut": "ndcg", "map_cut": "map", "recall": "recall", "P": "p"}
    out: dict[str, float] = {}
    n = len(qrels)  # queries with no retrieved document count as zero
    for trec, ours in names.items():
        for c in CUTOFFS:
            out[f"{ours}@{c}"] = sum(r[f"{trec}_{c}"] for r in per_query.values()) / n
    out["mrr"] = sum(r["recip_rank"] for r in per_query.values()) / n
    return out
