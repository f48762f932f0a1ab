"""Which training recipe makes the encoder better on a corpus, and does the label-free evidence say so?

On one BEIR data set (its queries are never seen by the synthesizer or the trainer) and rows synthesized from its
corpus, trains each recipe with several training seeds and scores every model twice: on the real queries
(nDCG@10, the figure a user wants) and on the pseudo-dev rows (``reasonir.evaluate.pseudo_dev``: synthesized,
unselected, held-out queries; what a run without labels can see). The base encoder and the naive recipe
(``benchmarks/naive_recipe.py``: one plain prompt per seed document, no filters, one-hot contrastive, no merge) run
beside reasonir's recipes as controls.

Recipes (reasonir's training rows unless named otherwise):
* ``contrastive``: one-hot rows, InfoNCE over in-batch and the rows' hard negatives;
* ``distill``: rows labelled by the hybrid teacher (``reasonir label``), trained to reproduce its scores;
* ``naive-1ep`` / ``naive-3ep``: the naive rows, one and three epochs.
Each trained model is also merged back into the base (WiSE-FT) at every ``--merges`` share and scored again, and for
each training seed the model ``reasonir adapt`` would hand back is picked from them exactly as adapt picks it
(``reasonir.adapt.recipes.choose``: best on one half of the pseudo-dev queries, kept only if it beats the base on the
other half): the ``adapt`` rows are what a user gets.

``--replay-selection`` takes a file of every candidate that passed the lexical filters, each with its base-encoder
rank (``benchmarks/data/scifact_synth_smollm2_v3_all.jsonl``) and replays the synthesizer: dev seeds (the same hash
as ``reasonir.synth.devset``) keep their first candidate as a pseudo-dev row, the others their best candidate in the
base top 10.

    .venv/bin/python benchmarks/bench_recipe.py --dataset ../shared/data/stacks_proofs --ignore-identical-ids \\
        --rows stacks_rows.jsonl --naive stacks_naive.jsonl --out benchmarks/results/recipe_stacks.json

Every run is appended to ``<out>.runs.jsonl`` as it finishes, so a rerun continues; the JSON summary (mean and spread
per recipe, and how often the pseudo-dev change has the sign of the real change) is rewritten at the end.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from _common import RESULTS_DIR, resumable, write_results

EVAL_BACKEND = None  # the default (auto): bf16 where the CPU computes it natively, within 0.0005 nDCG@10 of fp32


def load_rows(paths: list[Path]):
    from reasonir.data import read_training_rows

    return [r for p in paths for r in read_training_rows(p)]


def replay_selection(rows, share: float = 0.15, job_seed: int = 0, max_rank: int = 10):
    """Every clean candidate -> the synthesizer's rows: dev seeds' first candidates, other seeds' best in the top
    ``max_rank``."""
    from dataclasses import replace

    from reasonir.synth.devset import is_dev_seed

    by_seed: dict[str, list] = {}
    for row in rows:
        by_seed.setdefault(row.seed_id, []).append(row)
    out = []
    for seed, candidates in by_seed.items():
        if is_dev_seed(seed, share, job_seed):
            first = min(candidates, key=lambda r: r.meta.get("candidate", 0))
            out.append(replace(first, neg=[], meta={**first.meta, "split": "dev"}))
            continue
        ranked = [r for r in candidates if (r.meta.get("positive_rank") or max_rank + 1) <= max_rank]
        if ranked:
            out.append(min(ranked, key=lambda r: r.meta["positive_rank"]))
    return out


def score(model: str, data, dev, *, ignore_identical: bool, use_cache: bool = False) -> dict:
    """Real nDCG@10 per query and pseudo-dev nDCG@10 per dev query, from one encoding of the corpus."""
    from reasonir.evaluate import evaluate_retriever
    from reasonir.retrieve import DenseRetriever

    retriever = DenseRetriever(model, query_instruction="", document_instruction="", use_cache=use_cache,
                               show_progress=False, encoder_backend=EVAL_BACKEND)
    real = evaluate_retriever(retriever, data, k=100, measures=["ndcg@10"], ignore_identical_ids=ignore_identical)
    pseudo = dev.score(retriever, index=False)
    return {"real": {q: s["ndcg@10"] for q, s in real.per_query.items()}, "pseudo": pseudo}


def train(rows_file: Path, out: Path, *, seed: int, epochs: float | None) -> dict:
    """One training run with reasonir's trainer and its defaults, as ``reasonir adapt`` trains, unmerged (merges are
    scored separately); the naive recipe sets its epochs."""
    from reasonir.train import TrainConfig
    from reasonir.train.trainer import fit

    config = TrainConfig(data=[str(rows_file)], output_dir=out, seed=seed, merge_base=0.0, progress=False,
                         overwrite=True)
    if epochs is not None:
        config.epochs, config.max_epochs, config.min_steps = epochs, epochs, 0
    start = time.perf_counter()
    result = fit(config, log=lambda message: None)
    return {"steps": result.steps, "batch_size": config.batch_size, "train_seconds": round(time.perf_counter() - start, 1),
            "holdout": [result.holdout_before, result.holdout_after],
            "teacher_tau": [result.teacher_tau_before, result.teacher_tau_after]}


def merged(model_dir: Path, share: float, work: Path) -> str:
    """``model_dir`` with ``share`` of the base weights mixed back (WiSE-FT), saved beside it."""
    if share == 0:
        return str(model_dir)
    from sentence_transformers import SentenceTransformer

    from reasonir.models import resolve_model
    from reasonir.train.trainer import copy_state, merge_weights

    model = SentenceTransformer(str(model_dir), device="cpu")
    merge_weights(model, copy_state(SentenceTransformer(resolve_model(None), device="cpu")), share)
    target = work / f"{model_dir.name}-merge{share:g}"
    model.save(str(target))
    return str(target)


def labelled(rows_file: Path, documents, work: Path) -> Path:
    from reasonir.data import read_training_rows, write_training_rows
    from reasonir.label import TeacherConfig, label_rows

    target = work / "labelled.jsonl"
    if not target.exists():
        report = label_rows(read_training_rows(rows_file), documents, TeacherConfig())
        write_training_rows(report.rows, target)
    return target


def adapt_choice(done: list[dict], seed: int, base_scores: dict) -> None:
    """The run of this training seed that ``reasonir adapt`` would hand back, recorded as recipe "adapt"."""
    from reasonir.adapt.recipes import Candidate, choose

    base = next(r for r in done if r["recipe"] == "base")
    mine = [r for r in done if r.get("train_seed") == seed and r["recipe"] in ("contrastive", "distill")]
    if not mine:
        return
    candidates = [Candidate(f"{r['recipe']}-merge{r['merge']:g}", r["recipe"], r["merge"], None, scores=r["pseudo"])
                  for r in mine]
    # each pseudo-dev query came from its own seed
    choice = choose(candidates, Candidate("base", "base", 1.0, None, scores=base["pseudo"]),
                    {q: q for q in base["pseudo"]})
    picked = base if choice.chosen.name == "base" else mine[candidates.index(choice.chosen)]
    run = {"recipe": "adapt", "merge": picked["merge"], "train_seed": seed, "chose": choice.chosen.name,
           "best_on_choose_half": choice.best.name, "confirm": choice.confirm.as_dict(),
           "real_mean": picked["real_mean"], "pseudo_mean": picked["pseudo_mean"]}
    done.append(run)
    print(json.dumps(run), flush=True)


def bm25_placed(dev, k: int = 10):
    """The dev queries whose seed BM25 ranks in its top ``k`` (the synthesizer's rule for dev rows, applied to dev rows
    of files made before it), with their ids unchanged so runs scored on every dev query can be read on these."""
    from reasonir.data.records import Dataset
    from reasonir.evaluate.pseudo_dev import PseudoDev
    from reasonir.retrieve import BM25Retriever

    run = BM25Retriever().index(dev.dataset.documents).search(dev.dataset.queries, k=k)
    kept = [q for q in dev.dataset.queries if next(iter(dev.dataset.qrels[q.id])) in run[q.id]]
    return PseudoDev(Dataset(dev.dataset.documents, kept, {q.id: dev.dataset.qrels[q.id] for q in kept}))


def on(run: dict, ids: list[str]) -> dict:
    """``run`` with its pseudo-dev scores and mean restricted to the dev query ``ids``."""
    if "pseudo" not in run:
        return run
    pseudo = {q: run["pseudo"][q] for q in ids}
    return run | {"pseudo": pseudo, "pseudo_mean": round(statistics.mean(pseudo.values()), 4) if pseudo else None}


def summarize(runs: list[dict]) -> dict:
    base = next(r for r in runs if r["recipe"] == "base")
    out: dict = {"base": {"real": base["real_mean"], "pseudo": base["pseudo_mean"]}, "recipes": {}, "signal": {}}
    by_recipe: dict[str, list[dict]] = {}
    for r in runs:
        if r["recipe"] != "base":
            name = "adapt" if r["recipe"] == "adapt" else f"{r['recipe']} merge {r['merge']:g}"
            by_recipe.setdefault(name, []).append(r)
    for name, rs in sorted(by_recipe.items()):
        real = [r["real_mean"] for r in rs]
        pseudo = [r["pseudo_mean"] for r in rs]
        out["recipes"][name] = {
            "runs": len(rs), "real_mean": round(statistics.mean(real), 4),
            "real_spread": round(max(real) - min(real), 4), "real_change": round(statistics.mean(real) - base["real_mean"], 4),
            "pseudo_mean": round(statistics.mean(pseudo), 4),
            "pseudo_change": round(statistics.mean(pseudo) - base["pseudo_mean"], 4)}
    changes = [(r["real_mean"] - base["real_mean"], r["pseudo_mean"] - base["pseudo_mean"], r.get("pseudo_better"))
               for r in runs if r["recipe"] not in ("base", "adapt")]
    agree = sum((real > 0) == (pseudo > 0) for real, pseudo, _ in changes)
    out["signal"] = {"runs": len(changes), "sign_agreement": agree,
                     "pseudo_better_and_real_better": sum(1 for real, _, b in changes if b and real > 0),
                     "pseudo_better_but_real_worse": sum(1 for real, _, b in changes if b and real <= 0)}
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", required=True, type=Path)
    p.add_argument("--rows", required=True, type=Path, nargs="+", help="reasonir rows (dev rows among them)")
    p.add_argument("--dev-rows", type=Path, nargs="*", default=[], help="more pseudo-dev rows")
    p.add_argument("--naive", type=Path, help="naive rows (benchmarks/naive_recipe.py)")
    p.add_argument("--more-rows", type=Path, nargs="*", default=[],
                   help="more selected training rows (their seeds that are dev seeds of the replay are left out)")
    p.add_argument("--no-dev-roundtrip", dest="dev_roundtrip", action="store_false",
                   help="keep every dev row, not only those whose seed BM25 ranks in its top 10 (the synthesizer's rule)")
    p.add_argument("--replay-selection", action="store_true",
                   help="--rows hold every clean candidate with its base rank: replay the synthesizer's selection")
    p.add_argument("--recipes", default="contrastive,distill,naive-1ep,naive-3ep")
    p.add_argument("--train-seeds", default="0,1,2")
    p.add_argument("--merges", default="0,0.5")
    p.add_argument("--ignore-identical-ids", action="store_true", help="BEIR's rule (stacks_proofs needs it)")
    p.add_argument("--out", type=Path, default=RESULTS_DIR / "recipe.json")
    p.add_argument("--work", type=Path, default=None)
    p.add_argument("--summary-only", action="store_true",
                   help="train nothing: rewrite the summary from the runs already recorded (adapt's choice per seed "
                        "among the candidates each seed has)")
    args = p.parse_args()

    from reasonir.data import load_dataset, write_training_rows
    from reasonir.evaluate.pseudo_dev import PseudoDev, compare

    data = load_dataset(str(args.dataset))
    rows = load_rows(args.rows)
    if args.replay_selection:
        rows = replay_selection(rows)
    held = {r.seed_id for r in rows if r.is_dev}
    rows += [r for r in load_rows(args.more_rows) if r.seed_id not in held]
    train_rows = [r for r in rows if not r.is_dev]
    dev_rows = [r for r in rows + load_rows(args.dev_rows) if r.is_dev]
    trained_seeds = {r.seed_id for r in train_rows}
    every = PseudoDev.from_rows([r for r in dev_rows if r.seed_id not in trained_seeds], data.documents)
    dev = bm25_placed(every) if args.dev_roundtrip else every
    ids = [q.id for q in dev.dataset.queries]
    work, log_path, done = resumable(args.out, args.work, "bench-recipe-")
    rows_file = write_training_rows(train_rows, work / "rows.jsonl", overwrite=True)
    print(f"{len(train_rows)} training rows, {len(dev)} pseudo-dev queries ({len(every)} before BM25's round trip), "
          f"{len(done)} runs already done", flush=True)

    def record(run: dict, scores: dict, base: dict | None) -> dict:
        run = run | {"real_mean": round(statistics.mean(scores["real"].values()), 4),
                     "pseudo_mean": round(statistics.mean(scores["pseudo"].values()), 4) if len(dev) else None,
                     "pseudo": scores["pseudo"]}
        if base is not None:
            verdict = compare(base["pseudo"], scores["pseudo"])
            run |= {"pseudo_ci95": [round(x, 4) for x in verdict.ci95], "pseudo_better": verdict.better,
                    "pseudo_worse": verdict.worse}
        with log_path.open("a") as fh:
            fh.write(json.dumps(run) + "\n")
        done.append(run)
        print(json.dumps({k: v for k, v in run.items() if k != "pseudo"}), flush=True)
        return run

    def is_done(**key) -> bool:
        return any(all(r.get(k) == v for k, v in key.items()) for r in done)

    base_scores = score(None, data, dev, ignore_identical=args.ignore_identical_ids, use_cache=True)
    if not is_done(recipe="base"):
        record({"recipe": "base", "merge": 0.0, "train_seed": None}, base_scores, None)
    sources = {"contrastive": rows_file}
    if "distill" in args.recipes and not args.summary_only:
        sources["distill"] = labelled(rows_file, data.documents, work)
    if args.naive:
        sources["naive-1ep"] = sources["naive-3ep"] = args.naive
    merges = [float(m) for m in args.merges.split(",")]
    for recipe in ([] if args.summary_only else args.recipes.split(",")):
        naive = recipe.startswith("naive")
        for seed in (int(s) for s in args.train_seeds.split(",")):
            todo = [m for m in ([0.0] if naive else merges) if not is_done(recipe=recipe, train_seed=seed, merge=m)]
            if not todo:
                continue
            model_dir = work / f"{recipe}-seed{seed}"
            stats = train(sources[recipe], model_dir, seed=seed, epochs={"naive-1ep": 1.0, "naive-3ep": 3.0}.get(recipe))
            for share in todo:
                scores = score(merged(model_dir, share, work), data, dev, ignore_identical=args.ignore_identical_ids)
                record({"recipe": recipe, "merge": share, "train_seed": seed, **stats}, scores, base_scores)
    every_ids = [q.id for q in every.dataset.queries]
    # runs made since dev rows are BM25-placed were scored on those only: the unselected reading leaves them out
    unselected = summarize([on(r, every_ids) for r in done if r["recipe"] != "adapt"
                            and ("pseudo" not in r or set(every_ids) <= set(r["pseudo"]))])["signal"]
    done = [on(r, ids) for r in done if r["recipe"] != "adapt"]  # read on the dev queries this run keeps
    base_record = next(r for r in done if r["recipe"] == "base")
    for r in done:
        if r["recipe"] not in ("base", "adapt") and "pseudo" in r:
            verdict = compare(base_record["pseudo"], r["pseudo"])
            r |= {"pseudo_ci95": [round(x, 4) for x in verdict.ci95], "pseudo_better": verdict.better,
                  "pseudo_worse": verdict.worse}
    for seed in (int(s) for s in args.train_seeds.split(",")):
        adapt_choice(done, seed, base_scores)
    from reasonir.hardware import describe

    write_results(args.out, {"dataset": str(args.dataset), "train_rows": len(train_rows), "pseudo_dev": len(dev),
                             "pseudo_dev_before_roundtrip": len(every),
                             "eval_backend": EVAL_BACKEND, "cpu": describe(), "summary": summarize(done),
                             "signal_on_every_dev_row": unselected,
                             "runs": done})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
