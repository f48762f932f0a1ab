"""The label teacher's dense weight on SciFact's train claims (the dev set): nDCG@10 of
``w * minmax(cosine) + (1 - w) * minmax(BM25)`` per query over the corpus, as ``reasonir.label.Teacher`` scores
(all-MiniLM-L6-v2, BM25 with BRIGHT's k1=0.9, b=0.4), for several w. It checks ``TeacherConfig.dense_weight``.

    .venv/bin/python benchmarks/bench_teacher_scifact.py [--weights 0,0.3,0.4,0.5,0.6,0.7,1]

Writes benchmarks/results/teacher_weights_scifact.json.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from _common import RESULTS_DIR, write_results

SCIFACT = Path(__file__).resolve().parents[2] / "shared" / "data" / "scifact"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default="0,0.3,0.4,0.5,0.6,0.7,1")
    p.add_argument("--split", default="train", help="SciFact qrels split to score (train: the dev set)")
    a = p.parse_args()
    from reasonir.evaluate import evaluate_run
    from reasonir.label import Teacher, TeacherConfig
    from reasonir.train.evaluator import load_dev_set

    started = time.perf_counter()
    split = load_dev_set(SCIFACT, a.split)
    ids = [d.id for d in split.documents]
    queries = [q.text for q in split.queries]
    scores: dict[str, float] = {}
    for w in (float(x) for x in a.weights.split(",")):
        kind = "bm25" if w == 0 else "dense" if w == 1 else "hybrid"
        teacher = Teacher(split.documents, [], TeacherConfig(kind=kind, dense_weight=w))
        s = teacher.scores(queries)
        top = np.argsort(-s, axis=1)[:, :100]
        run = {q.id: {ids[j]: float(s[i, j]) for j in top[i]} for i, q in enumerate(split.queries)}
        scores[f"{w:g}"] = round(evaluate_run(split.qrels, run)["ndcg@10"], 4)
        print(f"dense weight {w:g}: nDCG@10 {scores[f'{w:g}']:.4f}", flush=True)
    write_results(RESULTS_DIR / "teacher_weights_scifact.json",
                  {"what": __doc__.splitlines()[0], "split": a.split, "queries": len(queries),
                   "documents": len(ids), "ndcg@10_by_dense_weight": scores, "default": TeacherConfig().dense_weight,
                   "seconds": round(time.perf_counter() - started, 1)})


if __name__ == "__main__":
    main()
