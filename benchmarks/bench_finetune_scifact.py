"""Fine-tune all-MiniLM-L6-v2 on data synthesized from the SciFact corpus; SciFact nDCG@10 before and after.

The training rows must come from the corpus only, never from SciFact's queries. Make them with:

    .venv/bin/reasonir synthesize ../shared/data/scifact --out scifact_synth.jsonl --n 300
    .venv/bin/python benchmarks/bench_finetune_scifact.py --data scifact_synth.jsonl

Both splits are evaluated with one corpus encoding per model: SciFact's *train* claims are the dev set for choosing
settings (809 claims, never seen by the synthesizer or the trainer either); the test split is the reported one.

(``reasonir synthesize`` reads only corpus.jsonl of the BEIR folder.) The script refuses rows whose query is a
SciFact query (test or train) verbatim, evaluates the packaged all-MiniLM-L6-v2 and the fine-tuned model with
the same dense retriever and pytrec_eval, and reports both numbers and the difference whatever its sign, beside
BM25 for reference. Time on 2 CPU cores, estimated from ../shared/MODELS.md's rates (about 4.5 s per step of
batch 16 at 256 tokens, 23 passages/s encoding): 120 steps about 9 minutes, encoding the 5,183 abstracts twice
about 8 minutes, so about 17 minutes in all; ``--eval-max-docs 2000`` evaluates on a corpus subset (judged
documents kept, so scores are higher than on the full corpus and comparable only with each other) and saves
about 5 minutes. A smoke run: ``--max-steps 2 --batch-size 4 --eval-max-docs 200``.

Writes benchmarks/results/train_finetune_scifact.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
RESULTS = RESULTS_DIR / "train_finetune_scifact.json"


def scifact_queries(folder: Path) -> set[str]:
    texts = set()
    with open(folder / "queries.jsonl", encoding="utf-8") as fh:
        for line in fh:
            texts.add(json.loads(line)["text"].strip().lower())
    return texts


def check_no_query_leak(rows_path: Path, folder: Path) -> int:
    """Raise if a training query is a SciFact query verbatim; return the number of rows checked."""
    from reasonir.data import read_training_rows

    queries = scifact_queries(folder)
    rows = read_training_rows(rows_path)
    leaked = [r.query for r in rows if r.query.strip().lower() in queries]
    if leaked:
        raise SystemExit(f"{rows_path}: {len(leaked)} training queries are SciFact queries, e.g. {leaked[0]!r}")
    return len(rows)


def evaluate(model, splits: dict, cache: bool = False) -> dict[str, dict[str, float]]:
    """nDCG@10, recall@100 and MRR per split, with one encoding of the (shared) corpus."""
    from reasonir.evaluate import evaluate_run
    from reasonir.retrieve.dense import DenseRetriever

    retriever = DenseRetriever(model, query_instruction="", document_instruction="", use_cache=cache,
                               show_progress=False)
    retriever.index(next(iter(splits.values())).documents)
    out = {}
    for name, data in splits.items():
        scores = evaluate_run(data.qrels, retriever.search(data.queries, k=100))
        out[name] = {m: scores[m] for m in ("ndcg@10", "recall@100", "mrr")}
    return out


def bm25(splits: dict) -> dict[str, dict[str, float]]:
    from reasonir.evaluate import evaluate_run
    from reasonir.retrieve import BM25Retriever

    retriever = BM25Retriever().index(next(iter(splits.values())).documents)
    out = {}
    for name, data in splits.items():
        scores = evaluate_run(data.qrels, retriever.search(data.queries, k=100))
        out[name] = {m: scores[m] for m in ("ndcg@10", "recall@100", "mrr")}
    return out


def label(rows_path: Path, splits: dict, args: argparse.Namespace) -> tuple[Path, int, dict]:
    """Teacher-labelled rows (``reasonir label`` with its defaults unless told otherwise), and the teacher's own
    nDCG@10 on each split (the ceiling distillation aims at)."""
    from reasonir.data import read_training_rows, write_training_rows
    from reasonir.evaluate import evaluate_run
    from reasonir.label import Teacher, TeacherConfig, label_rows

    overrides = {"keep_k": args.label_keep_k or None} if args.label_keep_k is not None else {}
    if args.label_candidates:
        overrides["candidates"] = args.label_candidates
    config = TeacherConfig(**overrides)
    documents = next(iter(splits.values())).documents
    report = label_rows(read_training_rows(rows_path), documents, config)
    out = Path(tempfile.mkdtemp()) / "labelled.jsonl"
    write_training_rows(report.rows, out)
    teacher = Teacher(documents, [], config)
    ids = [d.id for d in documents]
    quality = {}
    for name, data in splits.items():
        scores = teacher.scores([q.text for q in data.queries])
        top = np.argsort(-scores, axis=1)[:, :100]
        run = {q.id: {ids[j]: float(scores[i, j]) for j in top[i]} for i, q in enumerate(data.queries)}
        quality[name] = round(evaluate_run(data.qrels, run)["ndcg@10"], 4)
    summary = {"teacher": config.describe(), "settings": {"candidates": config.candidates, "pool": config.pool,
                                                          "keep_k": config.keep_k}, **report.summary(),
               "ndcg@10": quality}
    print(f"labelled {len(report.rows)} of {report.rows_in} rows with {config.describe()} "
          f"(teacher nDCG@10: {quality})", flush=True)
    return out, len(report.rows), summary


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, type=Path, nargs="+",
                   help="training rows from `reasonir synthesize` on SciFact (several files are concatenated)")
    p.add_argument("--scifact", type=Path, default=SCIFACT)
    p.add_argument("--splits", default="train,test",
                   help="splits to evaluate: train (SciFact's train claims: the dev set for choosing settings), test")
    p.add_argument("--max-steps", type=int, default=-1, help="> 0: fixed steps; default: the trainer's (epochs)")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--negatives", type=int, default=1)
    p.add_argument("--temperature", type=float, default=None, help="default: the base model's (MiniLM 0.05)")
    p.add_argument("--query-max-length", type=int, default=128)
    p.add_argument("--document-max-length", type=int, default=256)
    p.add_argument("--lr", type=float, default=None, help="default: the base model's (2e-5)")
    p.add_argument("--merge-base", type=float, default=None, help="default: the base model's (MiniLM 0.5, WiSE-FT)")
    p.add_argument("--max-rank", type=int, default=None,
                   help="train only on rows whose positive ranked within this at synthesis (meta.positive_rank)")
    p.add_argument("--per-seed", type=int, default=None, help="... and at most this many per seed, the best ranked")
    p.add_argument("--label", action="store_true",
                   help="score the rows with reasonir's teacher (reasonir.label: BM25 + base encoder) and "
                        "train by distillation")
    p.add_argument("--label-keep-k", type=int, default=None,
                   help="teacher round-trip: keep rows whose positive it ranks within this (default: the module's)")
    p.add_argument("--label-candidates", type=int, default=None, help="texts per labelled row (default: the module's)")
    p.add_argument("--teacher-temperature", type=float, default=None, help="default: TrainConfig's")
    p.add_argument("--eval-max-docs", type=int, default=None, help="evaluate on a corpus subset of this size")
    p.add_argument("--model-out", type=Path, default=None, help="keep the fine-tuned model here")
    p.add_argument("--out", type=Path, default=None, help="default: results/train_finetune_scifact.json")
    args = p.parse_args()

    from reasonir.train import TrainConfig, fit
    from reasonir.train.evaluator import load_dev_set

    n_rows = sum(check_no_query_leak(path, args.scifact) for path in args.data)
    train_file = args.data[0]
    if args.max_rank is not None or args.per_seed is not None or len(args.data) > 1:
        from sweep_finetune_scifact import select_rows

        rows = [json.loads(line) for path in args.data for line in open(path, encoding="utf-8") if line.strip()]
        chosen = select_rows(rows, args.max_rank, args.per_seed, args.negatives)
        train_file = Path(tempfile.mkdtemp()) / "selected.jsonl"
        train_file.write_text("".join(json.dumps(r) + "\n" for r in chosen), encoding="utf-8")
        print(f"selected {len(chosen)} of {n_rows} rows (positive rank <= {args.max_rank}, {args.per_seed} per seed)")
        n_rows = len(chosen)
    splits = {name: load_dev_set(args.scifact, name, max_documents=args.eval_max_docs)
              for name in args.splits.split(",")}
    for name, data in splits.items():
        print(f"SciFact {name}: {len(data.queries)} queries, {len(data.documents)} documents")
    teacher = None
    if args.label:
        train_file, n_rows, teacher = label(train_file, splits, args)
    print(f"{n_rows} training rows")
    started = time.perf_counter()
    reference = bm25(splits)
    before = evaluate(None, splits, cache=True)  # the packaged all-MiniLM-L6-v2; its corpus embeddings are cached
    print("BM25 nDCG@10 " + ", ".join(f"{k} {v['ndcg@10']:.4f}" for k, v in reference.items())
          + "; all-MiniLM-L6-v2 before: " + ", ".join(f"{k} {v['ndcg@10']:.4f}" for k, v in before.items()),
          flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        out = args.model_out or Path(tmp) / "model"
        config = TrainConfig(
            data=[str(train_file)], output_dir=out, batch_size=args.batch_size, negatives_per_query=args.negatives,
            query_max_length=args.query_max_length, document_max_length=args.document_max_length,
            learning_rate=args.lr, max_steps=args.max_steps, epochs=args.epochs, temperature=args.temperature,
            merge_base=args.merge_base, save_steps=10**6, logging_steps=20,
            **({"teacher_temperature": args.teacher_temperature} if args.teacher_temperature else {}),
            overwrite=args.model_out is not None,
        )
        result = fit(config)
        from sentence_transformers import SentenceTransformer

        after = evaluate(SentenceTransformer(str(out)), splits)
    delta = {k: after[k]["ndcg@10"] - before[k]["ndcg@10"] for k in splits}
    print("all-MiniLM-L6-v2 after fine-tuning: " + ", ".join(
        f"{k} {after[k]['ndcg@10']:.4f} ({delta[k]:+.4f})" for k in splits))
    record = {
        "dataset": "SciFact " + "/".join(splits) + (" (corpus subset)" if args.eval_max_docs else ""),
        "queries": {k: len(v.queries) for k, v in splits.items()},
        "documents": len(next(iter(splits.values())).documents),
        "training_rows": n_rows, "training_data": [str(path) for path in args.data],
        "before": before, "after": after, "ndcg@10_change": delta, "bm25": reference, "teacher": teacher,
        "train": {"steps": result.steps, "final_loss": result.train_loss, "seconds": round(result.train_seconds, 1),
                  "settings": config.summary(),
                  "label_free_dev": {"rows": result.holdout_rows, "positive_recall@1_before": result.holdout_before,
                                     "positive_recall@1_after": result.holdout_after,
                                     "teacher_tau_rows": result.teacher_tau_rows,
                                     "teacher_tau_before": result.teacher_tau_before,
                                     "teacher_tau_after": result.teacher_tau_after}},
        "total_seconds": round(time.perf_counter() - started, 1),
        "command": "python benchmarks/bench_finetune_scifact.py " + " ".join(sys.argv[1:]),
    }
    write_results(args.out or RESULTS, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
