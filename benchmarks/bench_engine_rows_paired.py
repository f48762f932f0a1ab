"""Do models fine-tuned on one engine's synthesis rows retrieve worse than those fine-tuned on another's? A paired
comparison over SciFact test queries, with its confidence interval.

``bench_engine_rows.py`` reports each fine-tuned model's mean nDCG@10; with a few dozen rows and a few training
steps those means differ by a few thousandths, which a mean alone cannot tell from chance. This script scores
every query with every model (SciFact test, the full corpus, pytrec_eval nDCG@10 through reasonir's evaluator,
each model encoded by ``load_encoder``'s ``auto`` backend, the base included), averages each query's score over a
group's models (the training seeds and synthesis runs of one engine), and gives the paired difference of two
groups with a percentile bootstrap over queries (``reasonir.evaluate.stats.paired_bootstrap``), and each group
against the base.

``--rows NAME=FILE[,FILE...]`` names a group: each rows file (one synthesis run) is fine-tuned with each
``--train-seeds`` seed at ``--max-steps`` steps (equal for every group: ``reasonir train``'s defaults give 3 steps
to 62 rows and 6 to 64, since a batch of 32 drops its partial last one), starting from the packaged
all-MiniLM-L6-v2, ``TrainConfig``'s other defaults; the group also reports what its rows hold (mean and median
query words). Models are kept in ``--work`` and per-query scores in
``<out>.runs.jsonl``, so a rerun trains and scores only what is new.

    .venv/bin/python benchmarks/bench_engine_rows_paired.py --work /tmp/paired \
        --rows llama-server=/tmp/engine-rows-work/rows-llama-server-r0.jsonl,/tmp/engine-rows-r1/rows-llama-server-r0.jsonl \
        --rows openvino=/tmp/engine-rows-fix/rows-openvino-r0.jsonl [--max-steps 6] [--train-seeds 42,43]

Writes benchmarks/results/engine_rows_paired_amx.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import statistics
from pathlib import Path

from _common import RESULTS_DIR, resumable, write_results  # benchmarks/ is the script's folder

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
RESULTS = RESULTS_DIR / "engine_rows_paired_amx.json"
BASE = "base"


def named_lists(pairs: list[str], what: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pair in pairs:
        name, sep, paths = pair.partition("=")
        if not sep or not paths:
            raise SystemExit(f"{what} {pair!r}: expected NAME=PATH[,PATH...]")
        out.setdefault(name, []).extend(p for p in paths.split(",") if p)
    return out


def per_query_ndcg(model_path: str | None, dataset) -> dict[str, float]:
    from reasonir.evaluate import evaluate_per_query
    from reasonir.models import load_encoder
    from reasonir.retrieve.dense import DenseRetriever

    retriever = DenseRetriever(load_encoder(model_path), query_instruction="", document_instruction="",
                               use_cache=False, show_progress=False)
    retriever.index(dataset.documents)
    run = retriever.search(dataset.queries, k=100)
    return {qid: s["ndcg@10"] for qid, s in evaluate_per_query(dataset.qrels, run, ["ndcg@10"]).items()}


def rows_held(paths: list[str]) -> dict:
    """How many rows each of a group's files (one synthesis run each) holds, and its queries' mean and median words."""
    runs = [[json.loads(line) for line in open(p, encoding="utf-8") if line.strip()] for p in paths]
    words = [len(r["query"].split()) for rows in runs for r in rows]
    return {"rows_per_run": [len(rows) for rows in runs], "query_words_mean": round(statistics.mean(words), 1),
            "query_words_median": statistics.median(words)}


def compare(a: dict[str, float], b: dict[str, float]) -> dict:
    from reasonir.evaluate.stats import paired_bootstrap

    qids = sorted(set(a) & set(b))
    diffs = [a[q] - b[q] for q in qids]
    lo, hi = paired_bootstrap(diffs)
    return {"difference": round(statistics.mean(diffs), 4), "ci95": [round(lo, 4), round(hi, 4)],
            "queries": len(qids)}


def trained(name: str, index: int, rows: str, seed: int, max_steps: int, work: Path) -> str:
    """The model fine-tuned on ``rows`` with training seed ``seed``: trained now unless ``work`` holds it."""
    from reasonir.train import TrainConfig, fit

    out = work / f"model-{name}-{index}-seed{seed}-steps{max_steps}"
    if not (out / "modules.json").is_file():
        result = fit(TrainConfig(data=[rows], output_dir=out, seed=seed, max_steps=max_steps, overwrite=True,
                                 progress=False))
        print(f"{out.name}: {result.steps} steps, final loss {result.train_loss:.3f}", flush=True)
    return str(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", action="append", default=[], help="NAME=FILE[,FILE...] (repeatable)")
    p.add_argument("--max-steps", type=int, default=6)
    p.add_argument("--train-seeds", default="42,43")
    p.add_argument("--work", type=Path, required=True, help="the fine-tuned models (a rerun reuses them)")
    p.add_argument("--scifact", type=Path, default=SCIFACT)
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    from reasonir.train.evaluator import load_dev_set

    rows = named_lists(args.rows, "--rows")
    if len(rows) < 2:
        raise SystemExit("name at least two --rows groups")
    dataset = load_dev_set(args.scifact, "test")
    _, log_path, done = resumable(args.out, args.work, "")
    scored = {d["model"]: d["per_query"] for d in done}
    seeds = [int(x) for x in args.train_seeds.split(",")]
    groups = {name: [trained(name, i, f, seed, args.max_steps, args.work) for i, f in enumerate(files)
                     for seed in seeds] for name, files in rows.items()}
    for model in [BASE, *itertools.chain.from_iterable(groups.values())]:
        if model in scored:
            continue
        scored[model] = per_query_ndcg(None if model == BASE else model, dataset)
        with open(log_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"model": model, "per_query": scored[model]}) + "\n")
        print(f"{model}: nDCG@10 {statistics.mean(scored[model].values()):.4f}", flush=True)

    def averaged(models: list[str]) -> dict[str, float]:
        return {q: statistics.mean(scored[m][q] for m in models) for q in scored[models[0]]}

    means = {name: averaged(models) for name, models in groups.items()}
    summary = {
        "ndcg@10": {BASE: round(statistics.mean(scored[BASE].values()), 4),
                    **{name: {"mean": round(statistics.mean(m.values()), 4),
                              "per_model": {Path(x).name: round(statistics.mean(scored[x].values()), 4)
                                            for x in groups[name]}} for name, m in means.items()}},
        "paired": {f"{a} - {b}": compare(means[a], means[b]) for a, b in itertools.combinations(groups, 2)},
        "against_base": {name: compare(m, scored[BASE]) for name, m in means.items()},
        "rows": {name: rows_held(files) for name, files in rows.items()},
    }
    print(json.dumps(summary, indent=2))
    write_results(args.out, {
        "benchmark": "bench_engine_rows_paired", "date": dt.date.today().isoformat(),
        "rows_files": rows, "models": groups, "max_steps": args.max_steps, "train_seeds": seeds, "queries": len(dataset.queries), "documents": len(dataset.documents),
        "encoder_backend": "load_encoder's auto (the same for every model)", "summary": summary})


if __name__ == "__main__":
    main()
