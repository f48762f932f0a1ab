"""Dense search speed, memory and recall: reasonir's exact search against FAISS flat and plain numpy, and
approximate FAISS indexes against exact.

Data: generated unit vectors, 384-d (MiniLM's width), Gaussian then normalized; queries drawn the same way.
Random vectors have no cluster structure, the hard case for approximate indexes: recall on real embeddings is
usually higher at the same settings.

  1. exact, 1000 queries, k=100 and k=1000, on 100k and 1M documents. Sides: ``auto`` (exact_search with the
     rule in reasonir/retrieve/exact.py), ``faiss_flat`` (IndexFlatIP.search, the old default), ``numpy_plain``
     (one matrix product per chunk of queries, argpartition over all documents, no document blocks), and at 100k
     the blocked backends separately. Orders alternate: at 100k each side runs twice, A B C D D C B A; at 1M once
     per k, A B C for k=100 and C B A for k=1000 (a 1M run takes 10-30 s). Times: median, min, max.
  2. fewer queries (1, 10, 100 at k=100; 100, 300 at k=1000) on the smaller corpus (100k): numpy vs torch vs FAISS, the evidence for ``auto``'s rule.
  3. approximate, k=100: IVF1024,Flat and IVF1024,PQ32x4 (32 codes of 4 bits: 16 bytes a vector; 8-bit codes trained for minutes on 2 cores) on 1M (nprobe 16, 64, 256), HNSW32 on 200k (building it on
     1M takes too long on 2 cores; efSearch 64 and 256): build time, search time for the 1000 queries, recall@100
     against the exact top 100 of the same corpus.
  Peak memory: growth of the process's peak RSS (VmHWM, reset through /proc/self/clear_refs before each run)
  over RSS before the run: whole process, C/C++ allocations (FAISS, torch, BLAS) included; inputs excluded.

Run:  nice -n 19 .venv/bin/python benchmarks/bench_search.py   (6.3 minutes on 2 shared cores, load average 1.3-3.8)
Writes benchmarks/results/search.json and prints a summary.
"""
from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

import numpy as np

DIM, QUERIES = 384, 1000
SIZES = [int(s) for s in os.environ.get("BENCH_SEARCH_SIZES", "100000,1000000").split(",")]
KS = (100, 1000)
PLAIN_CHUNK = 128  # queries per plain numpy product: 128 x 1M scores = 0.5 GB (+1 GB of argpartition indices)
HNSW_DOCS = int(os.environ.get("BENCH_HNSW_DOCS", "200000"))


def unit_vectors(n: int, seed: int) -> np.ndarray:
    out = np.empty((n, DIM), dtype=np.float32)
    rng = np.random.default_rng(seed)
    for start in range(0, n, 100_000):  # in slices: no float64 copy of the whole corpus
        v = rng.standard_normal((min(100_000, n - start), DIM), dtype=np.float32)
        out[start:start + len(v)] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


# ---- memory ---------------------------------------------------------------------------------------------------

def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def measured(fn, *args):
    """(seconds, peak RSS growth in MB, result) of one call."""
    gc.collect()
    before = _status_mb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    t = time.perf_counter()
    result = fn(*args)
    seconds = time.perf_counter() - t
    return seconds, round(_status_mb("VmHWM") - before, 1), result


# ---- the sides ------------------------------------------------------------------------------------------------

def side_auto(docs, queries, k):
    from reasonir.retrieve.exact import exact_search

    return exact_search(docs, queries, k, backend="auto")[1]


def side_numpy_blocked(docs, queries, k):
    from reasonir.retrieve.exact import exact_search

    return exact_search(docs, queries, k, backend="numpy")[1]


def side_torch_blocked(docs, queries, k):
    from reasonir.retrieve.exact import exact_search

    return exact_search(docs, queries, k, backend="torch")[1]


def side_faiss_flat(index, queries, k):
    return index.search(queries, k)[1]


def side_numpy_plain(docs, queries, k):
    out = []
    for start in range(0, len(queries), PLAIN_CHUNK):
        scores = queries[start:start + PLAIN_CHUNK] @ docs.T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        out.append(np.take_along_axis(top, order, axis=1))
    return np.concatenate(out)


def summary(runs: list[tuple[float, float]]) -> dict:
    seconds = [r[0] for r in runs]
    return {"median_s": round(statistics.median(seconds), 3), "min_s": round(min(seconds), 3),
            "max_s": round(max(seconds), 3), "runs_s": [round(s, 3) for s in seconds],
            "peak_rss_growth_mb": max(r[1] for r in runs)}


def exact_section(docs: np.ndarray, queries: np.ndarray) -> tuple[dict, dict]:
    """Timings per k and side, plus the exact top-100 ids (auto side) for the recall section."""
    import faiss

    from reasonir.retrieve.exact import choose_backend

    index = faiss.IndexFlatIP(DIM)
    index.add(docs)
    small = len(docs) <= 100_000
    sides = {"auto": lambda k: side_auto(docs, queries, k), "faiss_flat": lambda k: side_faiss_flat(index, queries, k),
             "numpy_plain": lambda k: side_numpy_plain(docs, queries, k)}
    if small:
        sides["numpy_blocked"] = lambda k: side_numpy_blocked(docs, queries, k)
        sides["torch_blocked"] = lambda k: side_torch_blocked(docs, queries, k)
    names = list(sides)
    record, exact_ids = {}, {}
    for i, k in enumerate(KS):
        order = (names + names[::-1]) if small else (names if i % 2 == 0 else names[::-1])
        runs: dict[str, list] = {n: [] for n in names}
        ids: dict[str, np.ndarray] = {}
        for name in order:
            seconds, mem, ids[name] = measured(sides[name], k)
            runs[name].append((seconds, mem))
            print(f"  n={len(docs)} k={k} {name}: {seconds:.2f} s, +{mem} MB", flush=True)
        row = {n: summary(r) for n, r in runs.items()}
        for n in names:
            if n != "faiss_flat":
                row[n]["faiss_over_this"] = round(row["faiss_flat"]["median_s"] / row[n]["median_s"], 2)
                row[n]["same_ids_as_faiss"] = round(float((ids[n] == ids["faiss_flat"]).mean()), 5)
        row["auto_chose"] = choose_backend(len(queries), k)
        record[f"k={k}"] = row
        if k == 100:
            exact_ids[k] = ids["auto"]
    del index
    return record, exact_ids


def few_queries_section(docs: np.ndarray, queries: np.ndarray) -> dict:
    from reasonir.retrieve.exact import exact_search

    import faiss

    index = faiss.IndexFlatIP(DIM)
    index.add(docs)
    out = {}
    for nq, k in ((1, 100), (10, 100), (100, 100), (100, 1000), (300, 1000)):
        sides = {"numpy": lambda q: exact_search(docs, q, k, backend="numpy"),
                 "torch": lambda q: exact_search(docs, q, k, backend="torch"),
                 "faiss_flat": lambda q: index.search(q, k)}
        q = queries[:nq]
        runs: dict[str, list] = {n: [] for n in sides}
        for name in list(sides) + list(sides)[::-1] + list(sides):  # A B C C B A A B C
            t = time.perf_counter()
            sides[name](q)
            runs[name].append(time.perf_counter() - t)
        out[f"queries={nq},k={k}"] = {n: {"median_s": round(statistics.median(r), 4), "min_s": round(min(r), 4),
                                    "max_s": round(max(r), 4)} for n, r in runs.items()}
        print(f"  {nq} queries, k={k}: " + ", ".join(f"{n} {v['median_s']:.4f}s"
                                                 for n, v in out[f'queries={nq},k={k}'].items()),
              flush=True)
    return out


def approximate_section(docs: np.ndarray, queries: np.ndarray, exact_top: np.ndarray, factory: str,
                        settings: list[dict]) -> dict:
    from reasonir.retrieve.approximate import build_index, set_search_params

    build_s, build_mb, index = measured(build_index, docs, factory)
    out = {"documents": len(docs), "build_s": round(build_s, 1), "build_peak_rss_growth_mb": build_mb, "search": []}
    for params in settings:
        set_search_params(index, **params)
        seconds, mem, ids = measured(lambda: index.search(queries, 100)[1])
        recall = float(np.mean([len(np.intersect1d(a, e)) / 100 for a, e in zip(ids, exact_top)]))
        out["search"].append({**params, "search_s": round(seconds, 3), "recall_at_100": round(recall, 4),
                              "peak_rss_growth_mb": mem})
        print(f"  {factory} on {len(docs)} {params}: recall@100 {recall:.4f}, {seconds:.2f} s", flush=True)
    return out


def main() -> int:
    import faiss
    import torch

    started = time.perf_counter()
    record: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                "faiss": faiss.__version__, "numpy": np.__version__, "torch": torch.__version__,
                                "threads": {"torch": torch.get_num_threads(), "faiss": faiss.omp_get_max_threads()},
                                "loadavg_at_start": list(os.getloadavg())},
                    "data": f"generated unit vectors, {DIM}-d, Gaussian then normalized; {QUERIES} queries",
                    "memory_method": "peak RSS growth: VmHWM (reset via /proc/self/clear_refs before each run) minus "
                                     "VmRSS before the run; whole process, C/C++ allocations included",
                    "order": "100k: every side twice, A B C D E E D C B A; 1M: once per k, A B C (k=100), C B A "
                             "(k=1000)",
                    "exact": {}}
    queries = unit_vectors(QUERIES, seed=1)
    largest = None
    for n in SIZES:
        docs = unit_vectors(n, seed=0)
        print(f"exact search on {n} documents", flush=True)
        record["exact"][str(n)], exact_ids = exact_section(docs, queries)
        if n == SIZES[0]:
            record["few_queries"] = {"documents": n, **few_queries_section(docs, queries)}
        largest = (docs, exact_ids[100])
    docs, exact_top = largest
    record["approximate"] = {
        "IVF1024,Flat": approximate_section(docs, queries, exact_top, "IVF1024,Flat", [{"nprobe": 16}, {"nprobe": 64}, {"nprobe": 256}]),
        "IVF1024,PQ32x4": approximate_section(docs, queries, exact_top, "IVF1024,PQ32x4", [{"nprobe": 16}, {"nprobe": 64}, {"nprobe": 256}]),
    }
    hnsw_docs = docs[:HNSW_DOCS]
    from reasonir.retrieve.exact import exact_search

    _, hnsw_exact = exact_search(hnsw_docs, queries, 100)
    record["approximate"]["HNSW32"] = approximate_section(hnsw_docs, queries, hnsw_exact, "HNSW32",
                                                          [{"ef_search": 64}, {"ef_search": 256}])
    record["approximate"]["note"] = (f"k=100, {QUERIES} queries; recall@100 against exact search on the same "
                                     f"documents; HNSW32 on the first {len(hnsw_docs)} documents only")
    record["machine"]["loadavg_at_end"] = list(os.getloadavg())
    record["total_s"] = round(time.perf_counter() - started, 1)
    write_results(RESULTS_DIR / "search.json", record)
    for n, by_k in record["exact"].items():
        for k, row in by_k.items():
            print(f"{n} docs {k}: auto({row['auto_chose']}) {row['auto']['median_s']} s, faiss flat "
                  f"{row['faiss_flat']['median_s']} s (x{row['auto']['faiss_over_this']}), numpy plain "
                  f"{row['numpy_plain']['median_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
