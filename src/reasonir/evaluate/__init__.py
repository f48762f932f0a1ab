"""Evaluation with pytrec_eval (BRIGHT's metric set), runs and TREC run files, comparison tables."""
from __future__ import annotations

from reasonir.evaluate.evaluator import Evaluation, evaluate_retriever
from reasonir.evaluate.metrics import BRIGHT_MEASURES, Measure, evaluate_per_query, evaluate_run, parse_measure
from reasonir.evaluate.runs import TOP_K, prepare_run, read_trec_run, write_trec_run
from reasonir.evaluate.table import Comparison, compare_retrievers

__all__ = [
    "BRIGHT_MEASURES", "Comparison", "Evaluation", "Measure", "TOP_K", "compare_retrievers", "evaluate_per_query",
    "evaluate_retriever", "evaluate_run", "parse_measure", "prepare_run", "read_trec_run", "write_trec_run",
]
