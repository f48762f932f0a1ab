"""Retrieval speed and memory: reasonir against the libraries it wraps, side by side in one run.

Measures, on SciFact (../shared/data/scifact, or SCIFACT=PATH):
  1. encoding throughput: DenseRetriever.encode_documents vs SentenceTransformer.encode on the same texts
     (target ratio >= 0.95); back-to-back pairs in alternating order, the median of the pairs' ratios reported
     (wall time and process CPU time), so that load from other processes on a shared machine cancels out;
  2. BM25 index and search (k=1000, test queries): reasonir's BM25Retriever vs bm25s used directly vs rank_bm25;
  3. dense search (k=1000): reasonir's search_vectors (FAISS IndexFlatIP + building the run dict) vs FAISS alone
     vs numpy brute force (matmul + argpartition), on the corpus size and on 100k synthetic unit vectors;
  4. peak memory of each, in a fresh subprocess per measurement: peak RSS growth during the step (VmHWM; whole
     process, C and C++ allocations included) and tracemalloc's peak (Python-visible allocations only).

Run:  .venv/bin/python benchmarks/bench_retrieval.py   (about 8 minutes on 2 shared cores)
Writes benchmarks/results/retrieval.json and prints the ratios.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import platform
import resource
import sys
import time
import tracemalloc
from pathlib import Path

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = Path(os.environ.get("SCIFACT", ROOT.parent / "shared" / "data" / "scifact"))
N_ENCODE = int(os.environ.get("BENCH_ENCODE_DOCS", "128"))  # SciFact abstracts encoded per round
ENCODE_ROUNDS = int(os.environ.get("BENCH_ENCODE_ROUNDS", "6"))  # pairs; the machine is shared, so many short pairs
K = 1000  # BRIGHT/BEIR depth
BM25_PARAMS = {"k1": 0.9, "b": 0.4}  # BRIGHT, the same on every side


def load_scifact():
    from reasonir.data import load_beir

    ds = load_beir(SCIFACT, split="test")
    return ds.documents, ds.queries


def doc_texts(docs):
    from reasonir.retrieve import document_text

    return [document_text(d) for d in docs]


# ---- the measured steps; each returns (seconds, result) -------------------------------------------------------

def encode_reasonir(model, texts):
    from reasonir.retrieve import DenseRetriever

    r = DenseRetriever(model, use_cache=False, show_progress=False, batch_size=64)
    t = time.perf_counter()
    out = r.encode_documents(texts)
    return time.perf_counter() - t, out


def encode_direct(model, texts):
    t = time.perf_counter()
    out = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    return time.perf_counter() - t, out


def bm25_reasonir(docs, queries):
    from reasonir.retrieve import BM25Config, BM25Retriever

    t0 = time.perf_counter()
    r = BM25Retriever(BM25Config(**BM25_PARAMS)).index(docs)
    t1 = time.perf_counter()
    run = r.search(queries, k=K)
    return {"index": t1 - t0, "search": time.perf_counter() - t1}, run


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def bm25s_direct(docs, queries):
    import bm25s

    stemmer = _stemmer()
    t0 = time.perf_counter()
    tokens = bm25s.tokenize(doc_texts(docs), stopwords="en", stemmer=stemmer, show_progress=False)
    model = bm25s.BM25(**BM25_PARAMS)
    model.index(tokens, show_progress=False)
    t1 = time.perf_counter()
    q = bm25s.tokenize([x.text for x in queries], stopwords="en", stemmer=stemmer, show_progress=False)
    found, scores = model.retrieve(q, k=K, show_progress=False)
    return {"index": t1 - t0, "search": time.perf_counter() - t1}, (found, scores)


def rank_bm25_direct(docs, queries):
    import bm25s
    from rank_bm25 import BM25Okapi

    stemmer = _stemmer()

    def tokenize(texts):  # bm25s' tokenizer (same stopwords and stemmer), as lists of strings for rank_bm25
        ids, vocab = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False, return_ids=True)
        inverse = {i: w for w, i in vocab.items()}
        return [[inverse[i] for i in row] for row in ids]

    t0 = time.perf_counter()
    model = BM25Okapi(tokenize(doc_texts(docs)), **BM25_PARAMS)
    t1 = time.perf_counter()
    tops = []
    for tokens in tokenize([x.text for x in queries]):
        scores = model.get_scores(tokens)
        top = np.argpartition(-scores, K)[:K] if len(scores) > K else np.arange(len(scores))
        tops.append(top[np.argsort(-scores[top])])
    return {"index": t1 - t0, "search": time.perf_counter() - t1}, tops


def dense_reasonir(corpus, queries_vec):
    from reasonir.data import Document, Query
    from reasonir.retrieve import DenseRetriever

    r = DenseRetriever(show_progress=False, use_cache=False)
    r._build(corpus)  # vectors given: this measures search, not encoding
    r._ids = [str(i) for i in range(len(corpus))]
    queries = [Query(str(i), "") for i in range(len(queries_vec))]
    t = time.perf_counter()
    run = r.search_vectors(queries, queries_vec, k=K)
    return time.perf_counter() - t, run


def dense_faiss(corpus, queries_vec):
    import faiss

    index = faiss.IndexFlatIP(corpus.shape[1])
    index.add(corpus)
    t = time.perf_counter()
    scores, ids = index.search(queries_vec, K)
    return time.perf_counter() - t, ids


def dense_numpy(corpus, queries_vec):
    t = time.perf_counter()
    scores = queries_vec @ corpus.T
    top = np.argpartition(-scores, K, axis=1)[:, :K]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
    ids = np.take_along_axis(top, order, axis=1)
    return time.perf_counter() - t, ids


def unit_vectors(n, dim=384, seed=0):
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


# ---- memory: one fresh process per step -----------------------------------------------------------------------

def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    raise KeyError(field)


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) so the next reading is this step's own peak (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _memory_worker(step: str, conn) -> None:
    docs, queries = load_scifact()
    args: tuple = ()
    if step.startswith("encode"):
        from reasonir.models import load_encoder

        model = load_encoder()
        args = (model, doc_texts(docs[:N_ENCODE]))
        model.encode(["warm up"], show_progress_bar=False)
    elif step.startswith("dense"):
        args = (unit_vectors(100_000), unit_vectors(300, seed=1))
    else:
        args = (docs, queries)
        import bm25s, rank_bm25  # noqa: E401,F401 - imported before the baseline, like the model above
        from reasonir.retrieve import BM25Retriever  # noqa: F401
    before = _status_mb("VmRSS")
    exact = _reset_peak()
    globals()[step](*args)
    rss_peak = _status_mb("VmHWM") if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()  # a second run of the step, traced (tracemalloc slows it, so it is not timed)
    globals()[step](*args)
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    conn.send({"rss_growth_mb": round(rss_peak - before, 1), "tracemalloc_peak_mb": round(py_peak / 2**20, 1)})


def peak_memory(step: str) -> dict:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_memory_worker, args=(step, child))
    proc.start()
    result = parent.recv()
    proc.join()
    return result


# ---- the run ----------------------------------------------------------------------------------------------------

def main() -> int:
    if not SCIFACT.exists():
        print(f"SciFact not found at {SCIFACT}; set SCIFACT=PATH", file=sys.stderr)
        return 2
    from reasonir.models import load_encoder

    load_start = os.getloadavg()
    docs, queries = load_scifact()
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                 "loadavg_at_start": [round(x, 2) for x in load_start]},
                     "dataset": {"path": str(SCIFACT), "documents": len(docs), "queries": len(queries)}}

    # 1. encoding: back-to-back pairs, alternating which side goes first; the median pair ratio is reported
    model = load_encoder()
    texts = doc_texts(docs[:N_ENCODE])
    model.encode(texts[:8], show_progress_bar=False)  # warm-up outside the timings
    timings: dict[str, list[tuple[float, float]]] = {"ours": [], "direct": []}  # (wall s, CPU s)
    vectors: dict[str, np.ndarray] = {}
    for round_ in range(ENCODE_ROUNDS):
        pair = [("ours", encode_reasonir), ("direct", encode_direct)]
        for name, fn in (pair if round_ % 2 == 0 else pair[::-1]):
            cpu = time.process_time()
            seconds, vectors[name] = fn(model, texts)
            timings[name].append((seconds, time.process_time() - cpu))
    assert np.allclose(vectors["ours"], vectors["direct"], atol=1e-5), "reasonir and direct encodings differ"
    wall_ratios = [d[0] / o[0] for o, d in zip(timings["ours"], timings["direct"])]
    cpu_ratios = [d[1] / o[1] for o, d in zip(timings["ours"], timings["direct"])]
    results["encoding"] = {
        "texts": len(texts), "pairs": ENCODE_ROUNDS,
        "reasonir_wall_s": [round(w, 3) for w, _ in timings["ours"]],
        "sentence_transformers_wall_s": [round(w, 3) for w, _ in timings["direct"]],
        "reasonir_texts_per_s": round(len(texts) / float(np.median([w for w, _ in timings["ours"]])), 2),
        "sentence_transformers_texts_per_s": round(len(texts) / float(np.median([w for w, _ in timings["direct"]])), 2),
        "throughput_ratio": round(float(np.median(wall_ratios)), 3),
        "throughput_ratio_cpu_time": round(float(np.median(cpu_ratios)), 3),
        "pair_ratios_wall": [round(r, 3) for r in wall_ratios],
        "overhead": "a list() of the texts and np.ascontiguousarray on the output (a no-op for float32 output); "
                    "the rest is the same SentenceTransformer.encode call",
    }

    # 2. BM25 (full corpus, test queries), three rounds each, interleaved
    bm = {"reasonir": [], "bm25s": [], "rank_bm25": []}
    for _ in range(3):
        bm["reasonir"].append(bm25_reasonir(docs, queries)[0])
        bm["bm25s"].append(bm25s_direct(docs, queries)[0])
    bm["rank_bm25"].append(rank_bm25_direct(docs, queries)[0])  # one round: it is the slow one
    bm25 = {name: {part: round(min(r[part] for r in rounds), 4) for part in ("index", "search")}
            for name, rounds in bm.items()}
    for part in ("index", "search"):
        bm25[f"{part}_ratio_bm25s_over_reasonir"] = round(bm25["bm25s"][part] / bm25["reasonir"][part], 3)
        bm25[f"{part}_ratio_rank_bm25_over_reasonir"] = round(bm25["rank_bm25"][part] / bm25["reasonir"][part], 3)
    results["bm25"] = bm25

    # 3. dense search on the corpus size and on 100k vectors
    dense = {}
    for n in (len(docs), 100_000):
        corpus, qv = unit_vectors(n), unit_vectors(len(queries), seed=1)
        t_ours = min(dense_reasonir(corpus, qv)[0] for _ in range(3))
        t_faiss, faiss_ids = min((dense_faiss(corpus, qv) for _ in range(3)), key=lambda x: x[0])
        t_numpy, numpy_ids = min((dense_numpy(corpus, qv) for _ in range(3)), key=lambda x: x[0])
        same_top10 = float(np.mean([len(set(a[:10]) & set(b[:10])) / 10 for a, b in zip(faiss_ids, numpy_ids)]))
        dense[str(n)] = {"reasonir_s": round(t_ours, 4), "faiss_s": round(t_faiss, 4), "numpy_s": round(t_numpy, 4),
                         "ratio_numpy_over_reasonir": round(t_numpy / t_ours, 3),
                         "ratio_faiss_over_reasonir": round(t_faiss / t_ours, 3), "top10_agreement": same_top10}
    results["dense_search"] = {"queries": len(queries), "k": K, "by_corpus_size": dense}

    # 4. memory, one subprocess per step
    steps = ["encode_reasonir", "encode_direct", "bm25_reasonir", "bm25s_direct", "rank_bm25_direct",
             "dense_reasonir", "dense_faiss", "dense_numpy"]
    results["peak_memory"] = {
        "method": "fresh spawned process per step; rss_growth_mb = peak RSS during the step (VmHWM, reset through "
                  "/proc/self/clear_refs just before it) minus RSS before it (inputs and libraries loaded first); tracemalloc_peak_mb = Python-visible allocations only (numpy yes, "
                  "torch/FAISS C++ no). Dense steps on 100k x 384 vectors; encode steps on the encoding texts.",
        **{step: peak_memory(step) for step in steps},
    }
    results["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]

    write_results(RESULTS_DIR / "retrieval.json", results)

    e = results["encoding"]
    print(f"encoding     reasonir {e['reasonir_texts_per_s']}/s vs sentence-transformers "
          f"{e['sentence_transformers_texts_per_s']}/s: ratio {e['throughput_ratio']} wall, "
          f"{e['throughput_ratio_cpu_time']} CPU time (median of {ENCODE_ROUNDS} pairs; target >= 0.95)")
    for part in ("index", "search"):
        print(f"bm25 {part:6s}  reasonir {bm25['reasonir'][part]:.3f}s  bm25s {bm25['bm25s'][part]:.3f}s "
              f"(x{bm25[f'{part}_ratio_bm25s_over_reasonir']})  rank_bm25 {bm25['rank_bm25'][part]:.3f}s "
              f"(x{bm25[f'{part}_ratio_rank_bm25_over_reasonir']})")
    for n, d in dense.items():
        print(f"dense {int(n):>7d} docs  reasonir {d['reasonir_s']:.4f}s  faiss {d['faiss_s']:.4f}s  "
              f"numpy {d['numpy_s']:.4f}s (numpy/reasonir x{d['ratio_numpy_over_reasonir']})")
    for step, mem in results["peak_memory"].items():
        if step != "method":
            print(f"memory {step:18s} rss +{mem['rss_growth_mb']} MB  tracemalloc peak {mem['tracemalloc_peak_mb']} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
