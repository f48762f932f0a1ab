"""Test-time reasoning on SciFact: quality against compute for BM25 and MiniLM, alone / +rewrite / +rerank / both.

What it measures (SciFact test, the first BENCH_QUERIES judged queries; the full 5,183-document corpus):
  1. for BM25 (bm25s) and all-MiniLM-L6-v2: the retriever alone, with LLM query rewriting (budget BENCH_BUDGET
     tokens, mode replace as BRIGHT), with pointwise LLM reranking of the top BENCH_RERANK_K, and both; nDCG@10,
     FLOPs per query (2 x parameters x tokens; query time, the corpus encoding reported apart) and seconds per
     query. Each configuration gets a fresh LLM response cache, so its seconds are what it really costs;
  2. the budget-scaling curve: nDCG@10 of BM25 and MiniLM with rewrites of BENCH_BUDGETS tokens, the rewrite
     alone (replace) and joined to the query (append) (one shared cache: the same LLM requests serve both modes);
  3. BRIGHT's own BM25 (``--bm25-flavour bright``, zero scores kept, absent queries left out) on all 300 queries,
     beside bm25s, against BRIGHT's code's 0.6707 / 0.9300.

The LLM is the embedded SmolLM2-135M-Instruct (about 90 generated tokens/s on 2 cores): it is why queries are
subsampled and k is small. A 135M model follows instructions poorly; whatever it does to quality is reported.

Run:  .venv/bin/python benchmarks/bench_test_time.py     (about 30 minutes on 2 heavily shared cores, plus a
      one-off MiniLM encoding of the corpus if the embedding cache is cold; BENCH_QUERIES, BENCH_RERANK_K,
      BENCH_BUDGET, BENCH_BUDGETS, BENCH_RERANK_WORDS, BENCH_RETRIEVERS=bm25,minilm change the sizes)
Writes benchmarks/results/test_time.json, test_time_cost.png, test_time_budgets.png.
"""
from __future__ import annotations

import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = Path(os.environ.get("SCIFACT", ROOT.parent / "shared" / "data" / "scifact"))
# small on purpose: the embedded LLM shares 2 cores with everything else on the machine
N_QUERIES = int(os.environ.get("BENCH_QUERIES", "10"))
RERANK_K = int(os.environ.get("BENCH_RERANK_K", "5"))
BUDGET = int(os.environ.get("BENCH_BUDGET", "64"))
BUDGETS = [int(b) for b in os.environ.get("BENCH_BUDGETS", "64,128,256").split(",")]
RERANK_WORDS = int(os.environ.get("BENCH_RERANK_WORDS", "80"))  # document words per judgement (speed)
RETRIEVERS = os.environ.get("BENCH_RETRIEVERS", "bm25,minilm").split(",")
OUT = Path(os.environ.get("BENCH_OUT", RESULTS_DIR))  # a scratch folder for trial runs
MEASURES = ["nDCG@10", "R@100"]


def subsample(ds, n):
    from reasonir.data import Dataset

    queries = [q for q in ds.queries if q.id in ds.qrels][:n]
    return Dataset(ds.documents, queries, {q.id: ds.qrels[q.id] for q in queries})


def fresh_llm(shared: str | None = None):
    from reasonir.llm import LLMConfig, load_llm

    from reasonir.llm import ChatRequest, Sampling

    path = shared or str(Path(tempfile.mkdtemp(prefix="bench-llm-")) / "responses.sqlite")
    llm = load_llm(LLMConfig(cache_path=path))
    # warm-up: a fresh server's first answer pays for paging the model in (about 30 s on a loaded machine); that
    # is start-up, not per-query cost. Its tokens are not counted in any pipeline's compute.
    llm.chat(ChatRequest.user("Say OK.", sampling=Sampling(max_tokens=2), tag="warmup"))
    return llm


def pipeline(retriever, llm, *, rewrite, rerank, budget=BUDGET, mode="replace"):
    from reasonir.retrieve import LLMReranker, Pipeline, QueryRewriter

    transforms = [QueryRewriter(llm, budget, mode, "scifact")] if rewrite else []
    rerankers = [LLMReranker(llm, RERANK_K, task="scifact", max_words=RERANK_WORDS)] if rerank else []
    return Pipeline(retriever, transforms, rerankers)


def row(result, llm):
    cost = result.cost
    return {"ndcg@10": round(result.scores["ndcg@10"], 4), "recall@100": round(result.scores["recall@100"], 4),
            "flops_per_query": cost["flops_per_query"], "seconds_per_query": round(cost["seconds_per_query"], 3),
            "corpus_flops_amortised_per_query": cost["by_stage"].get("encode_corpus", {}).get("flops"),
            "by_stage": cost["by_stage"], "llm_usage": llm.usage().as_dict() if llm is not None else None,
            "missing_queries": len(result.missing),
            "rewrite_failures": None, "examples": dict(list(result.rewrites.items())[:2])}


def main() -> int:
    from reasonir.data import load_beir
    from reasonir.evaluate import evaluate_retriever
    from reasonir.evaluate.plots import plot_budget_curve, plot_quality_vs_cost
    from reasonir.retrieve import BM25Config, BM25Retriever, DenseRetriever, Pipeline

    started = time.time()
    load_start = os.getloadavg()
    full = load_beir(SCIFACT, split="test")
    ds = subsample(full, N_QUERIES)
    makers = {"bm25": BM25Retriever, "minilm": lambda: DenseRetriever(show_progress=False)}
    retrievers = {name: makers[name]() for name in RETRIEVERS}

    table: dict[str, dict] = {}
    for name, retriever in retrievers.items():
        t = time.perf_counter()
        Pipeline(retriever).index(full.documents)  # once; the pipelines below reuse the index
        print(f"indexed {name} in {time.perf_counter() - t:.1f}s", flush=True)
        for variant, (rewrite, rerank) in {"alone": (False, False), "+rewrite": (True, False),
                                           "+rerank": (False, True), "both": (True, True)}.items():
            llm = fresh_llm() if (rewrite or rerank) else None
            try:
                pipe = pipeline(retriever, llm, rewrite=rewrite, rerank=rerank)
                pipe._documents = full.documents  # indexed above: account the corpus encoding without redoing it
                for r in pipe.rerankers:
                    r.documents = full.documents
                result = evaluate_retriever(pipe, ds, index=False, measures=MEASURES)
                table[f"{name} {variant}"] = row(result, llm)
                if rewrite:
                    table[f"{name} {variant}"]["rewrite_failures"] = len(pipe.query_transforms[0].failures)
            finally:
                if llm is not None:
                    llm.close()
            r = table[f"{name} {variant}"]
            print(f"{name:7s} {variant:9s} nDCG@10 {r['ndcg@10']:.4f}  FLOPs/q {r['flops_per_query']:.3g}  "
                  f"s/q {r['seconds_per_query']:.2f}", flush=True)

    curves: dict[str, dict[int, float]] = {}
    llm = fresh_llm()  # one cache for the curve: replace and append send the same requests
    try:
        for name, retriever in retrievers.items():
            for mode in ("replace", "append"):
                curve = curves.setdefault(f"{name} ({mode})", {})
                for budget in BUDGETS:
                    pipe = pipeline(retriever, llm, rewrite=True, rerank=False, budget=budget, mode=mode)
                    result = evaluate_retriever(pipe, ds, index=False, measures=MEASURES)
                    curve[budget] = round(result.scores["ndcg@10"], 4)
                    print(f"budget {budget:5d} {name} {mode}: nDCG@10 {curve[budget]:.4f}", flush=True)
        curve_usage = llm.usage().as_dict()
    finally:
        llm.close()

    bright = {}
    for flavour in ("bm25s", "bright") if "bm25" in retrievers else ():
        config = BM25Config(flavour=flavour, keep_zero_scores=flavour == "bright")
        t = time.perf_counter()
        result = evaluate_retriever(BM25Retriever(config), full, measures=MEASURES,
                                    missing="skip" if flavour == "bright" else "zero")
        bright[flavour] = {"ndcg@10": round(result.scores["ndcg@10"], 4),
                           "recall@100": round(result.scores["recall@100"], 4),
                           "seconds": round(time.perf_counter() - t, 1), "options": result.options}
        print(f"SciFact BM25 {flavour}: {bright[flavour]}", flush=True)

    baselines = {n: table[f"{n} alone"]["ndcg@10"] for n in retrievers}
    cost_png = plot_quality_vs_cost({k: (v["ndcg@10"], v["flops_per_query"]) for k, v in table.items()},
                                    OUT / "test_time_cost.png",
                                    title=f"SciFact test, {len(ds.queries)} queries: nDCG@10 against FLOPs/query "
                                          f"(LLM SmolLM2-135M, rewrite {BUDGET} tokens, rerank top {RERANK_K})")
    budget_png = plot_budget_curve(curves, OUT / "test_time_budgets.png", baselines=baselines,
                                   title=f"SciFact test, {len(ds.queries)} queries: rewrite budget (SmolLM2-135M)")
    record = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "loadavg_at_start": load_start,
                    "loadavg_at_end": os.getloadavg()},
        "command": " ".join([sys.executable, *sys.argv]),
        "settings": {"dataset": str(SCIFACT), "queries": len(ds.queries), "corpus": len(full.documents),
                     "llm": "SmolLM2-135M-Instruct Q4_1 (embedded llama.cpp server)", "rewrite_budget": BUDGET,
                     "rewrite_mode": "replace", "rerank_k": RERANK_K, "rerank_words": RERANK_WORDS, "alpha": 0.5,
                     "flops": "2 x parameters x tokens; query time; corpus encoding amortised listed apart"},
        "table": table, "budget_curves": curves, "budget_curve_llm_usage": curve_usage, "bm25_scifact_all": bright,
        "plots": [cost_png.name, budget_png.name],
        "wall_s": round(time.time() - started, 1),
    }
    write_results(OUT / "test_time.json", record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
