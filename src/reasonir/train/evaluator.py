"""Dev-set evaluation during training, through reasonir's own retriever and metrics.

A sentence-transformers evaluator, so the trainer calls it on its schedule (``eval_steps`` / each epoch) and
logs ``dev_ndcg@10`` etc.; it indexes a BEIR corpus with :class:`reasonir.retrieve.DenseRetriever` over the
model being trained and scores the run with :func:`reasonir.evaluate.evaluate_run` (pytrec_eval), the same
path as ``reasonir eval``.
"""
from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any

from sentence_transformers.sentence_transformer.evaluation import SentenceEvaluator

from reasonir.data.records import Dataset


def load_dev_set(
    folder: str | Path, split: str = "test", *, max_documents: int | None = None, max_queries: int | None = None,
    seed: int = 42,
) -> Dataset:
    """A BEIR folder, optionally cut down: the first ``max_queries`` judged queries and a corpus subset that keeps
    every judged document of those queries plus random others (scores on a subset are higher than on the full
    corpus, and say so only relative to each other)."""
    from reasonir.data import load_beir

    ds = load_beir(folder, split=split)
    queries = [q for q in ds.queries if q.id in ds.qrels]
    if max_queries is not None:
        queries = queries[:max_queries]
    qrels = {q.id: ds.qrels[q.id] for q in queries}
    documents = ds.documents
    if max_documents is not None and max_documents < len(documents):
        judged = {d for judgments in qrels.values() for d in judgments}
        keep = [d for d in documents if d.id in judged]
        others = [d for d in documents if d.id not in judged]
        keep += random.Random(seed).sample(others, max(0, min(len(others), max_documents - len(keep))))
        documents = keep
    return replace(ds, documents=documents, queries=queries, qrels=qrels)


class RetrievalDevEvaluator(SentenceEvaluator):
    """nDCG@10 (primary), recall@100, MAP@10 and MRR of the in-training model on a BEIR dev set."""

    def __init__(
        self,
        dataset: Dataset,
        *,
        query_prompt: str = "",
        document_prompt: str = "",
        name: str = "dev",
        batch_size: int = 64,
        k: int = 100,
    ) -> None:
        super().__init__()
        self.dataset, self.name, self.batch_size, self.k = dataset, name, batch_size, k
        self.query_prompt, self.document_prompt = query_prompt, document_prompt
        self.primary_metric = "ndcg@10"
        self.history: list[dict[str, Any]] = []

    def __call__(self, model, output_path: str | None = None, epoch: int = -1, steps: int = -1) -> dict[str, float]:
        from reasonir.evaluate import evaluate_run
        from reasonir.retrieve.dense import DenseRetriever

        retriever = DenseRetriever(
            model, query_instruction=self.query_prompt, document_instruction=self.document_prompt,
            batch_size=self.batch_size, use_cache=False, show_progress=False,
        )
        run = retriever.index(self.dataset.documents).search(self.dataset.queries, k=self.k)
        scores = evaluate_run(self.dataset.qrels, run)
        kept = {m: scores[m] for m in ("ndcg@10", "recall@100", "map@10", "mrr") if m in scores}
        self.history.append({"epoch": epoch, "steps": steps, **kept})
        metrics = self.prefix_name_to_metrics(kept, self.name)
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics

    def get_config_dict(self) -> dict[str, Any]:
        return {"queries": len(self.dataset.queries), "documents": len(self.dataset.documents), "k": self.k}
