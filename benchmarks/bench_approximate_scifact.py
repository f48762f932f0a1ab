"""Approximate FAISS indexes on real embeddings: all-MiniLM-L6-v2 vectors of SciFact's 5,183 abstracts, searched
with SciFact's real claims, against exact search of the same vectors.

``bench_search.py`` measures approximate indexes on generated Gaussian vectors (the worst case: no clusters).
Here the vectors are real, and the queries are SciFact's 1,109 claims (test and train splits), so recall is
measured where a user would feel it. For each index and search setting, side by side with exact search (FAISS
flat) in one run:
  * recall@100 against the exact top 100, over the real claims, and the recall that ``reasonir index`` itself
    reports (document vectors as probes) for the same index;
  * search time for all 1,109 claims at k=100 (median of 3, order rotated between repeats);
  * nDCG@10 on SciFact test (300 claims), beside exact's.
The corpus is small (5k), so IVF uses 64 cells (about sqrt(n)); at this size exact search is fast and an
approximate index buys nothing: the run shows what each structure loses, not a speed-up.

    .venv/bin/python benchmarks/bench_approximate_scifact.py [--scifact ../shared/data/scifact]

Writes benchmarks/results/approximate_scifact.json.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
RESULTS = RESULTS_DIR / "approximate_scifact.json"
K = 100
# (factory, search settings to try)
SETTINGS = [
    ("HNSW32", [{"ef_search": 16}, {"ef_search": 64}, {"ef_search": 256}]),
    ("IVF64,Flat", [{"nprobe": 1}, {"nprobe": 4}, {"nprobe": 16}]),
    ("IVF64,PQ32", [{"nprobe": 4}, {"nprobe": 16}]),
]


def top_ids(run: dict, queries) -> list[set[str]]:
    return [set(run[q.id]) for q in queries]


def timed_search(retriever, queries, vectors) -> tuple[dict, float]:
    start = time.perf_counter()
    run = retriever.search_vectors(queries, vectors, K)
    return run, time.perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scifact", type=Path, default=SCIFACT)
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    if not (args.scifact / "corpus.jsonl").is_file():
        print(f"needs SciFact in BEIR layout at {args.scifact}", file=sys.stderr)
        return 2
    from reasonir.data import load_dataset
    from reasonir.evaluate.metrics import evaluate_run
    from reasonir.retrieve import DenseRetriever

    test = load_dataset(str(args.scifact), "test")
    train = load_dataset(str(args.scifact), "train")
    test_ids = {q.id for q in test.queries}
    queries = test.queries + [q for q in train.queries if q.id not in test_ids]
    exact = DenseRetriever(show_progress=False, exact_backend="faiss").index(test.documents)  # embedding cache
    vectors, ids = exact.document_embeddings(), [d.id for d in test.documents]
    query_vectors = exact.encode_queries([q.text for q in queries])

    def ndcg(run: dict) -> float:
        return evaluate_run(test.qrels, {q: r for q, r in run.items() if q in test_ids}, ["nDCG@10"])["ndcg@10"]

    sides = [("exact (FAISS flat)", exact, {})]
    for factory, options in SETTINGS:
        for option in options:
            built = time.perf_counter()
            retriever = DenseRetriever(show_progress=False, faiss_factory=factory, **option).index_vectors(vectors, ids)
            sides.append((f"{factory} {option}", retriever, {"build_s": round(time.perf_counter() - built, 2),
                                                             "index_reported_recall": retriever.recall}))
    runs, times = {}, {name: [] for name, _, _ in sides}
    for repeat in range(3):  # rotate the order so no side always runs first
        order = sides[repeat % len(sides):] + sides[:repeat % len(sides)]
        for name, retriever, _ in order:
            runs[name], took = timed_search(retriever, queries, query_vectors)
            times[name].append(took)
    exact_top = top_ids(runs["exact (FAISS flat)"], queries)
    rows = []
    for name, _, extra in sides:
        got = top_ids(runs[name], queries)
        recall = float(np.mean([len(a & b) / max(len(b), 1) for a, b in zip(got, exact_top)]))
        row = {"index": name, "recall_at_100_real_queries": round(recall, 4), "ndcg_at_10_test": round(ndcg(runs[name]), 4),
               "search_s_median": round(statistics.median(times[name]), 4),
               "search_s_all": [round(t, 4) for t in times[name]], **extra}
        rows.append(row)
        reported = extra.get("index_reported_recall") or {}
        print(f"{name:34s} recall@100 {recall:.3f} (reasonir index reports {reported.get('recall', 1.0):.3f}), "
              f"nDCG@10 {row['ndcg_at_10_test']:.4f}, search {row['search_s_median'] * 1000:.1f} ms", flush=True)
    result = {
        "what": "approximate FAISS indexes vs exact on all-MiniLM-L6-v2 embeddings of SciFact, real claims as queries",
        "corpus_documents": len(ids), "queries": len(queries), "k": K, "results": rows,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_average": os.getloadavg()},
        "command": "python benchmarks/bench_approximate_scifact.py " + " ".join(sys.argv[1:]),
    }
    write_results(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
