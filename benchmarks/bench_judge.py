"""Does ``adapt``'s label-free judge agree with real queries? Its change against the real nDCG@10 change, per
candidate retriever, and what ``adapt`` hands back, on a BEIR set whose queries the synthesizer never saw.

For each training seed this runs exactly what ``reasonir adapt``'s train stage runs on a rows file (synthesized
rows with their judge rows): every recipe trained on every row and once per fold without that fold's seeds
(``reasonir.adapt.recipes.judge_candidates``: each merge share, alone and fused with BM25, scored on the judge rows
of the seeds each copy never saw), then ``choose``. Every candidate retriever is also scored on the real queries
with the encoder trained on every row (the one adapt would hand back). A *run* is one candidate at one training
seed: its judge change and its real change, both against the base encoder alone.

    .venv/bin/python benchmarks/bench_judge.py --dataset examples/scifact-sample --rows demo-output/rows.jsonl \\
        --out benchmarks/results/judge_sample.json

``--from-adapt DIR`` reads the same table from a finished ``reasonir adapt --eval`` (or ``make demo``) folder instead
of training again: its report holds each candidate's judge change and the evaluate stage its real change.

``--corpus-size N`` cuts the corpus to N documents (every document a real query judges relevant, every seed of the
rows, then others in a fixed random order) to fit SciFact's 5,183 abstracts into a 2-core session; the real change
is then measured on that cut, and the JSON says so. Runs are appended to ``<out>.runs.jsonl`` as they finish, so a
rerun continues.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from _common import RESULTS_DIR, resumable, write_results
from reasonir.evaluate.crossfit import MATTERS, sign_agreement



def cut_corpus(data, rows, size: int | None):
    """The data set with its corpus cut to ``size`` documents (judged, then seeds, then a fixed random order)."""
    from dataclasses import replace

    if size is None or size >= len(data.documents):
        return data
    judged = {d for rel in data.qrels.values() for d in rel}
    seeds = {r.seed_id for r in rows}
    order = sorted(data.documents, key=lambda d: d.id)
    random.Random(0).shuffle(order)
    order.sort(key=lambda d: (d.id not in judged, d.id not in seeds))
    return replace(data, documents=order[:size])


def replay(rows, max_rank: int = 10):
    """Every clean candidate with its base-encoder rank (``scifact_synth_smollm2_v3_all.jsonl``) -> what the
    synthesizer writes now: each candidate as a judge row, and each seed's best-ranked one within the round trip's
    top ``max_rank`` as its training row."""
    from dataclasses import replace as with_

    by_seed: dict[str, list] = {}
    for row in rows:
        by_seed.setdefault(row.seed_id, []).append(row)
    out = []
    for seed, candidates in by_seed.items():
        out += [with_(r, neg=[], meta={**r.meta, "split": "judge", "row_id": f"{seed}:hq:judge{i}"})
                for i, r in enumerate(candidates)]
        ranked = [r for r in candidates if (r.meta.get("positive_rank") or max_rank + 1) <= max_rank]
        if ranked:
            out.append(min(ranked, key=lambda r: r.meta["positive_rank"]))
    return out


def real_scores(candidate, base_model, data, ignore_identical: bool, bm25_run, cache: dict) -> dict[str, float]:
    """nDCG@10 per real query of the retriever a candidate stands for, with the encoder trained on every row."""
    from reasonir.adapt.recipes import dense_retriever, with_bm25
    from reasonir.evaluate.crossfit import DEPTH
    from reasonir.evaluate.metrics import evaluate_per_query

    key = candidate.path or "base"
    if key not in cache:
        retriever = dense_retriever(candidate.path if candidate.path else base_model)
        cache[key] = retriever.index(data.documents).search(data.queries, k=DEPTH + 1)
    run = cache[key]
    if candidate.form == "hybrid":
        run = with_bm25(bm25_run, run, candidate.weight, DEPTH + 1)
    if ignore_identical:
        run = {q: {d: s for d, s in docs.items() if d != q} for q, docs in run.items()}
    return {q: s["ndcg@10"] for q, s in evaluate_per_query(data.qrels, run, ["ndcg@10"]).items()}


def train_all(rows_file: Path, recipes: list[str], folds: int, seed: int, work: Path, documents):
    """What adapt's train stage trains: each recipe on every row and once per fold (distill: teacher-labelled)."""
    from reasonir.adapt.recipes import Trained
    from reasonir.data import read_training_rows, write_training_rows
    from reasonir.evaluate.crossfit import training_rows
    from reasonir.train import TrainConfig
    from reasonir.train.trainer import fit

    trained = {}
    for recipe in recipes:
        source = rows_file
        if recipe == "distill":
            from reasonir.label import TeacherConfig, label_rows

            source = work / "labelled.jsonl"
            if not source.exists():
                write_training_rows(label_rows(read_training_rows(rows_file), documents, TeacherConfig()).rows, source)
        paths, stats = [], {}
        for fold in [None, *range(folds)]:
            folder = work / f"{recipe}-seed{seed}" / ("full" if fold is None else f"fold-{fold}")
            data = source
            if fold is not None:
                data = write_training_rows(training_rows(read_training_rows(source), fold, folds),
                                           folder.with_name(folder.name + ".rows.jsonl"), overwrite=True)
            if not (folder / "config_sentence_transformers.json").exists():
                start = time.perf_counter()
                result = fit(TrainConfig(data=[str(data)], output_dir=folder, seed=seed, merge_base=0.0,
                                         progress=False, overwrite=True), log=lambda m: None)
                if fold is None:
                    stats = {"steps": result.steps, "train_seconds": round(time.perf_counter() - start, 1)}
            paths.append(folder)
        trained[recipe] = Trained(paths[0], paths[1:], stats)
    return trained


def summarize(runs: list[dict]) -> dict:
    """Sign agreement over the runs whose real change matters, and what adapt handed back."""
    scored = [r for r in runs if r["kind"] == "candidate"]
    agree, matter = sign_agreement([(r["judge_change"], r["real_change"]) for r in scored])
    picks = [r for r in runs if r["kind"] == "adapt"]
    by_choice = {}  # which judge queries predict best: every clean candidate, or only those BM25 places / misses
    for key in ("judge_change_bm25_placed", "judge_change_bm25_missed"):
        have_agree, have = sign_agreement([(r[key], r["real_change"]) for r in scored if r.get(key) is not None])
        if have:
            by_choice[key.removeprefix("judge_change_")] = {"runs": have, "sign_agreement": have_agree}
    return {"runs": len(scored), "runs_whose_real_change_matters": matter,
            "sign_agreement": agree, "sign_agreement_share": round(agree / matter, 3) if matter else None,
            "sign_agreement_by_judge_queries": by_choice,
            "judge_better_and_real_better": sum(r["judge_better"] and r["real_change"] > 0 for r in scored),
            "judge_better_but_real_worse": sum(r["judge_better"] and r["real_change"] <= 0 for r in scored),
            "adapt": [{k: r[k] for k in ("train_seed", "chosen", "real_change", "best_real_change")} for r in picks]}


def by_bm25(base: dict[str, float], candidate: dict[str, float], bm25: dict[str, float]) -> dict[str, float | None]:
    """The judge change on the judge queries BM25 places in its top 10 (the old pseudo-dev rule) and on the rest."""
    placed = [q for q in base if bm25.get(q, 0.0) > 0]
    missed = [q for q in base if bm25.get(q, 0.0) == 0]

    def change(qs: list[str]) -> float | None:
        return round(statistics.fmean(candidate[q] - base[q] for q in qs), 4) if qs else None

    return {"judge_change_bm25_placed": change(placed), "judge_change_bm25_missed": change(missed),
            "judge_n_bm25_placed": len(placed)}


def from_adapt(folder: Path, train_seed: int) -> list[dict]:
    """The runs of one finished adapt folder: each candidate's judge change (train stage) beside its real change
    (evaluate stage), and what adapt handed back."""
    report = json.loads((folder / "report.json").read_text())
    train, evaluation = report["stages"]["train"]["summary"], report["stages"]["evaluate"]["summary"]
    real = {c["name"]: c["real_change"] for c in evaluation["judge_check"]["candidates"]}
    results = evaluation["table"]["results"]
    scores_file = folder / "candidates" / "judge-scores.json"
    judged = json.loads(scores_file.read_text()) if scores_file.exists() else None
    runs = [{"kind": "candidate", "train_seed": train_seed, "name": c["name"], "recipe": c["recipe"],
             "merge": c["merge"], "form": c["form"], "weight": c["weight"], "judge_change": c["judge_change"],
             "judge_ci95": c["judge_ci95"], "judge_better": c["judge_ci95"][0] > 0,
             "detectable": c["judge_detectable"], "judge_n": train["judge_queries"], "judge_seeds": train["judge_seeds"],
             "real": round(results[c["name"]]["ndcg@10"], 4), "real_change": real[c["name"]], "train": c["train"],
             **(by_bm25(judged["scores"]["base"], judged["scores"][c["name"]], judged["bm25"]) if judged else {})}
            for c in train["candidates"]]
    chosen = 0.0 if train["chosen"] == "base" else real[train["chosen"]]
    runs.append({"kind": "adapt", "train_seed": train_seed, "chosen": train["chosen"], "reason": train["reason"],
                 "confirm": train["confirm"], "real_base": round(results["base"]["ndcg@10"], 4),
                 "real_change": chosen, "best_real_change": max(real.values())})
    return runs


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--rows", type=Path, help="synthesized rows with their judge rows")
    p.add_argument("--from-adapt", type=Path, nargs="+", metavar="DIR",
                   help="finished adapt --eval folders (one per training seed) instead of training here")
    p.add_argument("--replay-selection", action="store_true",
                   help="--rows hold every clean candidate with its base rank: make judge and training rows from them")
    p.add_argument("--recipes", default="contrastive,distill")
    p.add_argument("--train-seeds", default="0")
    p.add_argument("--merges", default="0,0.5")
    p.add_argument("--hybrid-weights", default="0.3,0.5,0.7")
    p.add_argument("--folds", type=int, default=None, help="default: adapt's")
    p.add_argument("--corpus-size", type=int, default=None)
    p.add_argument("--ignore-identical-ids", action="store_true", help="BEIR's rule (stacks_proofs needs it)")
    p.add_argument("--out", type=Path, default=RESULTS_DIR / "judge.json")
    p.add_argument("--work", type=Path, default=None)
    args = p.parse_args()

    from reasonir.adapt.recipes import choose, judge_candidates
    from reasonir.data import load_dataset, read_training_rows, write_training_rows
    from reasonir.evaluate.crossfit import FOLDS, JudgeSet
    from reasonir.hardware import describe
    from reasonir.retrieve import BM25Retriever

    if args.from_adapt:
        done = [run for seed, folder in enumerate(args.from_adapt) for run in from_adapt(folder, seed)]
        write_results(args.out, {"dataset": args.dataset, "adapt_folders": [str(f) for f in args.from_adapt],
                                 "note": "train_seed numbers the adapt folders in the order given",
                                 "matters": MATTERS, "cpu": describe(), "summary": summarize(done), "runs": done})
        print(json.dumps(summarize(done), indent=2))
        return 0
    if args.rows is None:
        p.error("--rows is required unless --from-adapt is given")
    folds = args.folds or FOLDS
    rows = read_training_rows(args.rows)
    if args.replay_selection:
        rows = replay(rows)
    data = cut_corpus(load_dataset(args.dataset), rows, args.corpus_size)
    known = {d.id for d in data.documents}
    rows = [r for r in rows if r.seed_id in known]
    judge = JudgeSet.from_rows(rows, data.documents, folds)
    work, log_path, done = resumable(args.out, args.work, "bench-judge-")
    rows_file = write_training_rows(rows, work / "rows.jsonl", overwrite=True)
    print(f"{sum(not r.is_dev for r in rows)} training rows, {len(judge)} judge queries from {judge.seeds} seeds, "
          f"{len(data.documents)} documents, {len(data.queries)} real queries; {len(done)} runs done", flush=True)
    bm25_run = BM25Retriever().index(data.documents).search(data.queries, k=101)
    real_cache: dict = {}
    merges = [float(m) for m in args.merges.split(",")]
    weights = [float(w) for w in args.hybrid_weights.split(",") if w]
    for seed in (int(s) for s in args.train_seeds.split(",")):
        if any(r["kind"] == "adapt" and r["train_seed"] == seed for r in done):
            continue
        trained = train_all(rows_file, args.recipes.split(","), folds, seed, work, data.documents)
        base, candidates = judge_candidates(trained, merges, weights, judge, work / f"merged-seed{seed}", None,
                                            log=print)
        bm25_judge = judge.score(judge.search([BM25Retriever()]))
        base_real = real_scores(base, None, data, args.ignore_identical_ids, bm25_run, real_cache)
        real = {c.name: real_scores(c, None, data, args.ignore_identical_ids, bm25_run, real_cache)
                for c in candidates}
        real_base_mean = statistics.fmean(base_real.values())
        from reasonir.evaluate.crossfit import compare

        for c in candidates:
            verdict = compare(base.scores, c.scores, clusters=judge.seed)
            run = {"kind": "candidate", "train_seed": seed, "name": c.name, "recipe": c.recipe, "merge": c.merge,
                   "form": c.form, "weight": c.weight, "judge_change": round(verdict.change, 4),
                   "judge_ci95": [round(x, 4) for x in verdict.ci95], "judge_better": verdict.better,
                   "detectable": round(verdict.detectable, 4), "judge_n": verdict.n, "judge_seeds": verdict.seeds,
                   "real": round(statistics.fmean(real[c.name].values()), 4),
                   "real_change": round(statistics.fmean(real[c.name].values()) - real_base_mean, 4),
                   "train": c.train, **by_bm25(base.scores, c.scores, bm25_judge)}
            done.append(run)
            with log_path.open("a") as fh:
                fh.write(json.dumps(run) + "\n")
            print(json.dumps(run), flush=True)
        choice = choose(candidates, base, judge.seed)
        chosen_real = (real_base_mean if choice.chosen is base
                       else statistics.fmean(real[choice.chosen.name].values()))
        run = {"kind": "adapt", "train_seed": seed, "chosen": choice.chosen.name, "reason": choice.reason,
               "confirm": choice.confirm.as_dict(), "real_base": round(real_base_mean, 4),
               "real_change": round(chosen_real - real_base_mean, 4),
               "best_real_change": round(max(statistics.fmean(v.values()) for v in real.values()) - real_base_mean, 4)}
        done.append(run)
        with log_path.open("a") as fh:
            fh.write(json.dumps(run) + "\n")
        print(json.dumps(run), flush=True)
    write_results(args.out, {"dataset": args.dataset, "rows": str(args.rows), "documents": len(data.documents),
                             "corpus_cut": args.corpus_size, "real_queries": len(data.queries),
                             "judge_queries": len(judge), "judge_seeds": judge.seeds, "folds": folds,
                             "training_rows": sum(not r.is_dev for r in rows), "matters": MATTERS, "cpu": describe(),
                             "summary": summarize(done), "runs": done})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
