"""Exploration behind ``reasonir label``: distil a BM25 + base-encoder hybrid teacher into all-MiniLM-L6-v2 on
SmolLM2's SciFact questions (GPL-style, KL over a list of the teacher's candidates), dev and test nDCG@10.

This is the standalone script the distillation settings were explored with (sentence-transformers' trainer
directly, no reasonir trainer), kept so its figures can be reproduced; ``bench_finetune_scifact.py --label``
measures the same recipe through reasonir's own label and train stages. The teacher score of a document is
``w * minmax(cosine) + (1 - w) * minmax(BM25)`` over the corpus per query (as ``reasonir.label.Teacher``);
each query keeps its seed document as the first candidate and ``list - 1`` documents sampled from the teacher's top
``pool``; queries whose seed document the teacher ranks below ``select_k`` are left out (0 keeps all).

    python benchmarks/explore_distill_scifact.py --list 8 --epochs 2 --doc-len 128 --select-k 10

Appends one JSON line per run to benchmarks/results/distill_exploration_scifact.jsonl (or --out).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import RESULTS_DIR

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
ROWS = [ROOT / "benchmarks" / "data" / "scifact_synth_smollm2_v3_all.jsonl",
        ROOT / "benchmarks" / "data" / "scifact_synth_smollm2_v4.jsonl"]


def minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = x.min(1, keepdims=True), x.max(1, keepdims=True)
    return (x - lo) / np.maximum(hi - lo, 1e-9)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--w", type=float, default=0.5, help="dense weight in the teacher")
    p.add_argument("--select-k", type=int, default=10)
    p.add_argument("--list", type=int, default=8, help="candidates per query, the seed document included")
    p.add_argument("--pool", type=int, default=30)
    p.add_argument("--tt", type=float, default=0.05, help="teacher temperature")
    p.add_argument("--st", type=float, default=0.05, help="student temperature")
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--epochs", type=float, default=1)
    p.add_argument("--bs", type=int, default=16)
    p.add_argument("--doc-len", type=int, default=256, help="training length (evaluation reads 256)")
    p.add_argument("--wise", default="1.0", help="weights alpha of alpha * fine-tuned + (1 - alpha) * base")
    p.add_argument("--rows", type=Path, nargs="+", default=ROWS, help="synthesized rows (default: the v3 + v4 files)")
    p.add_argument("--tag", default="")
    p.add_argument("--out", type=Path, default=RESULTS_DIR / "distill_exploration_scifact.jsonl")
    a = p.parse_args()
    t0 = time.time()
    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import losses
    from sentence_transformers.sentence_transformer.trainer import SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments

    from reasonir.evaluate import evaluate_run
    from reasonir.models import resolve_model
    from reasonir.retrieve import BM25Retriever, DenseRetriever
    from reasonir.retrieve.base import document_text
    from reasonir.train.evaluator import load_dev_set
    from reasonir.train.model import copy_state, merge_weights

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    dev, test = load_dev_set(SCIFACT, "train"), load_dev_set(SCIFACT, "test")
    docs = dev.documents
    ids, texts = [d.id for d in docs], [document_text(d) for d in docs]
    pos_of = {d: i for i, d in enumerate(ids)}
    seen, syn = set(), []
    for path in a.rows:
        for line in open(path, encoding="utf-8"):
            row = json.loads(line)
            if row["query"].strip().lower() not in seen:
                seen.add(row["query"].strip().lower())
                syn.append(row)
    dense = DenseRetriever(None, show_progress=False).index(docs)
    bm25 = BM25Retriever().index(docs)
    queries = [r["query"] for r in syn]
    teacher = a.w * minmax(dense.encode_queries(queries) @ dense.document_embeddings().T) \
        + (1 - a.w) * minmax(np.stack([bm25.score_all(q) for q in queries]))
    cols: dict[str, list[str]] = {"query": [], **{f"d{j}": [] for j in range(a.list)}}
    labels = []
    for i, r in enumerate(syn):
        p_idx = pos_of.get(r["seed_id"])
        if p_idx is None:
            continue
        order = np.argsort(-teacher[i])
        if a.select_k and int(np.where(order == p_idx)[0][0]) + 1 > a.select_k:
            continue
        pool = [j for j in order[:a.pool] if j != p_idx]
        cand = [p_idx] + list(rng.choice(pool, size=a.list - 1, replace=False))
        cols["query"].append(r["query"])
        for j, c in enumerate(cand):
            cols[f"d{j}"].append(texts[c])
        labels.append([float(teacher[i, c]) for c in cand])
    print("queries", len(labels), flush=True)
    model = SentenceTransformer(str(resolve_model(None)), device="cpu")
    base_state = copy_state(model)
    model.max_seq_length = a.doc_len
    kl = losses.DistillKLDivLoss(model, student_temperature=a.st, teacher_temperature=a.tt)

    class Unscaled(torch.nn.Module):  # undo the st^2 factor: InfoNCE-sized gradients
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, feats, labels):
            return kl(feats, labels) / a.st ** 2

    with tempfile.TemporaryDirectory() as tmp:
        args = SentenceTransformerTrainingArguments(
            output_dir=tmp, per_device_train_batch_size=a.bs, learning_rate=a.lr, num_train_epochs=a.epochs,
            warmup_ratio=0.1, save_strategy="no", report_to=[], logging_steps=5, seed=0, disable_tqdm=True)
        SentenceTransformerTrainer(model=model, args=args, train_dataset=Dataset.from_dict(cols | {"label": labels}),
                                   loss=Unscaled()).train()
    model.max_seq_length = 256
    tuned = copy_state(model)
    result = {"args": json.loads(json.dumps(vars(a), default=str)),
              "queries": len(labels), "ndcg@10": {}}
    for alpha in [float(x) for x in a.wise.split(",")]:
        model.load_state_dict(tuned, strict=False)
        merge_weights(model, base_state, 1 - alpha)
        with torch.inference_mode():
            doc_emb = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
            scores = {}
            for name, split in (("dev", dev), ("test", test)):
                q = model.encode([x.text for x in split.queries], batch_size=64, normalize_embeddings=True,
                                 convert_to_numpy=True)
                s = q @ doc_emb.T
                top = np.argsort(-s, 1)[:, :100]
                run = {x.id: {ids[j]: float(s[i, j]) for j in top[i]} for i, x in enumerate(split.queries)}
                scores[name] = round(evaluate_run(split.qrels, run)["ndcg@10"], 4)
        result["ndcg@10"][str(alpha)] = scores
        print(alpha, scores, round(time.time() - t0), flush=True)
    result["seconds"] = round(time.time() - t0)
    with open(a.out, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
