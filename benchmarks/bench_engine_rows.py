"""Are the embedded LLM engines' rows as good? Synthesize the same SciFact seeds with each engine, fine-tune the
default encoder on each engine's rows, and compare SciFact test nDCG@10.

Issue 28 made ``openvino`` (OpenVINO GenAI in process) the default embedded engine on CPUs with bf16 units because
it keeps 6-7x llama-server's synthesis rows per minute; this benchmark checks that the rows it keeps train as well.

1. **synthesis**, one job per engine and round (``bench_llm_engines.started`` / ``measure_synthesis``: each engine
   started through ``load_llm`` exactly as a job starts it, no response cache): SciFact's *corpus* only (never its
   queries), ``--seeds`` seeds chosen with ``SynthConfig.seed`` 0, the synthesizer's default candidates and
   ``--kinds`` (default: ``SynthConfig.kinds``), the dense corpus ranker built once before any timing. Recorded per
   run: wall time, kept rows per minute, seed yield per kind, the share of candidates each filter drops, the
   round-trip pass rate and the 1-minute load average before and after. Rounds alternate the engines' order
   (A B, B A, ...). The rows are kept in ``--work``.
2. **fine-tuning**, for each engine's rows of round 0 and each ``--train-seeds`` seed: ``reasonir.train.fit`` with
   ``TrainConfig``'s defaults (what ``reasonir train --data ROWS --out DIR`` uses; only ``seed`` varies, to show the
   training noise), starting from the packaged all-MiniLM-L6-v2.
3. **evaluation** on SciFact test (``bench_finetune_scifact.evaluate``/``bm25``: reasonir's dense retriever and
   evaluator, pytrec_eval nDCG@10, recall@100, MRR) of BM25, the base encoder and every fine-tuned model, on the
   full 5,183-document corpus unless ``--eval-max-docs`` names a subset (judged documents kept; scores then
   comparable only with each other).

Every finished run (a synthesis job, a fine-tune and its evaluation) is a line of ``<out>.runs.jsonl``, so a rerun
with the same ``--work`` continues where the last one stopped. ``--lock FILE`` holds an exclusive flock on FILE
around each synthesis job only (a machine shared with other benchmarks).

    .venv/bin/python benchmarks/bench_engine_rows.py [--engines openvino,llama-server] [--seeds 80] [--rounds 1]
        [--kinds hq,vl] [--train-seeds 42,43] [--eval-max-docs N] [--work DIR] [--lock /tmp/reasonir-bench.lock]

Smoke run: ``--seeds 2 --train-seeds 42 --max-steps 2 --eval-max-docs 200 --out /tmp/smoke.json``.

Writes benchmarks/results/engine_rows_scifact_amx.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from _common import RESULTS_DIR, resumable, write_results  # benchmarks/ is the script's folder
from bench_finetune_scifact import bm25, check_no_query_leak, evaluate
from bench_llm_engines import locked, measure_synthesis, order, started, variants

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
RESULTS = RESULTS_DIR / "engine_rows_scifact_amx.json"


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def synthesis_runs(args: argparse.Namespace, names: list[str], work: Path, log_path: Path, done: list[dict]) -> None:
    """Every (round, engine) synthesis job not yet in the log; each appended to it as it finishes."""
    from reasonir.data import load_corpus
    from reasonir.synth.ranker import build_ranker

    todo = [(r, n) for r, n in order(names, args.rounds)
            if not any(d["part"] == "synthesis" and d["engine"] == n and d["round"] == r for d in done)]
    if not todo:
        return
    documents = load_corpus(args.scifact / "corpus.jsonl")  # the corpus only: the queries never reach the LLM
    t0 = time.perf_counter()
    ranker = build_ranker(documents, "dense")  # once, before any timing
    ranker_s = round(time.perf_counter() - t0, 1)
    known = variants(argparse.Namespace(amx_binary=None))
    kinds = tuple(args.kinds.split(","))
    for rnd, name in todo:
        rows_path = work / f"rows-{name}-r{rnd}.jsonl"
        with started(known[name]) as llm:
            startup_s = round(llm.startup_s, 1)  # type: ignore[attr-defined]
            with locked(args.lock):
                load_before = loadavg()
                s = measure_synthesis(llm, documents, ranker, args.seeds, rows_path, kinds)
                load_after = loadavg()
        s.pop("queries", None)
        s["seed_yield_n"] = args.seeds  # HQ runs on every seed (HQConfig.max_seeds None)
        run = {"part": "synthesis", "engine": name, "round": rnd, "startup_s": startup_s,
               "precision": getattr(llm, "compute_type", getattr(llm, "precision", None)),
               "rows_path": str(rows_path), "ranker_build_s": ranker_s,
               "loadavg_before": load_before, "loadavg_after": load_after,
               "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **s}
        print(f"round {rnd} {name:>12}: {s['rows']} rows in {s['seconds']} s = {s['rows_per_minute']} rows/min, "
              f"seed yield {s['seed_yield_by_kind']}, round trip {s['roundtrip_pass_rate']}, drops "
              f"{s['drop_shares']}, load {load_before} -> {load_after}", flush=True)
        with open(log_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(run) + "\n")
        done.append(run)


def train_runs(args: argparse.Namespace, names: list[str], work: Path, log_path: Path, done: list[dict]) -> None:
    """BM25 and the base encoder once, then each engine's round-0 rows x each training seed: fit, evaluate."""
    from reasonir.train import TrainConfig, fit
    from reasonir.train.evaluator import load_dev_set

    splits = {"test": load_dev_set(args.scifact, "test", max_documents=args.eval_max_docs)}
    corpus_size = len(splits["test"].documents)
    print(f"SciFact test: {len(splits['test'].queries)} queries, {corpus_size} documents", flush=True)

    def log(run: dict) -> None:
        run.update(documents=corpus_size, eval_max_docs=args.eval_max_docs,
                   finished=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        with open(log_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(run) + "\n")
        done.append(run)

    def have(**match: object) -> bool:
        return any(all(d.get(k) == v for k, v in match.items()) and d.get("eval_max_docs") == args.eval_max_docs
                   for d in done)

    if not have(part="eval", model="bm25"):
        t = time.perf_counter()
        log({"part": "eval", "model": "bm25", "scores": bm25(splits)["test"],
             "seconds": round(time.perf_counter() - t, 1)})
    if not have(part="eval", model="base"):
        t, load = time.perf_counter(), loadavg()
        log({"part": "eval", "model": "base", "scores": evaluate(None, splits)["test"],
             "seconds": round(time.perf_counter() - t, 1), "loadavg_before": load, "loadavg_after": loadavg()})
    for name in names:
        synth = next((d for d in done if d["part"] == "synthesis" and d["engine"] == name and d["round"] == 0), None)
        if synth is None:
            print(f"{name}: no round-0 synthesis rows yet; skipped", file=sys.stderr)
            continue
        rows_path = Path(synth["rows_path"])
        n_rows = check_no_query_leak(rows_path, args.scifact)  # no SciFact query verbatim among the training rows
        for seed in (int(s) for s in args.train_seeds.split(",")):
            if have(part="eval", model="finetuned", engine=name, train_seed=seed, max_steps=args.max_steps):
                continue
            out = work / f"model-{name}-seed{seed}-steps{args.max_steps}"
            config = TrainConfig(data=[str(rows_path)], output_dir=out, seed=seed, max_steps=args.max_steps,
                                 overwrite=True, progress=False)
            load = loadavg()
            result = fit(config)
            from sentence_transformers import SentenceTransformer

            t = time.perf_counter()
            scores = evaluate(SentenceTransformer(str(out)), splits)["test"]
            run = {"part": "eval", "model": "finetuned", "engine": name, "train_seed": seed,
                   "max_steps": args.max_steps, "rows": n_rows, "rows_path": str(rows_path), "scores": scores,
                   "train": {"steps": result.steps, "final_loss": result.train_loss,
                             "seconds": round(result.train_seconds, 1), "settings": config.summary(),
                             "label_free_dev": {"rows": result.holdout_rows,
                                                "positive_recall@1_before": result.holdout_before,
                                                "positive_recall@1_after": result.holdout_after}},
                   "eval_seconds": round(time.perf_counter() - t, 1), "loadavg_before": load,
                   "loadavg_after": loadavg()}
            print(f"{name} rows ({n_rows}), training seed {seed}: {result.steps} steps, test nDCG@10 "
                  f"{scores['ndcg@10']:.4f}", flush=True)
            log(run)


def rows_compared(done: list[dict], names: list[str]) -> dict:
    """What each engine's round-0 rows hold (read from ``--work`` while it exists): seeds with a row, the seeds both
    engines kept a row for, mean query words, rows with an LLM-written negative."""
    rows = {}
    for d in done:
        if d["part"] == "synthesis" and d["round"] == 0 and Path(d["rows_path"]).exists():
            with open(d["rows_path"], encoding="utf-8") as fh:
                rows[d["engine"]] = [json.loads(line) for line in fh if line.strip()]
    out: dict[str, object] = {name: {"rows": len(r), "seeds": len({x["seed_id"] for x in r}),
                                     "query_words_mean": round(statistics.mean(len(x["query"].split()) for x in r), 1),
                                     "rows_with_written_negative": sum("written" in x["meta"].get("neg_source", [])
                                                                       for x in r)}
                              for name, r in rows.items() if r}
    if all(n in rows for n in names):
        seeds = [{x["seed_id"] for x in rows[n]} for n in names]
        out["seeds_in_common"] = len(set.intersection(*seeds))
    return out


def summarise(done: list[dict], names: list[str], eval_max_docs: int | None, n_seeds: int) -> dict:
    """Per engine: the synthesis runs' figures, with a binomial 95% half-width (normal approximation) for the HQ
    seed yield (n = seeds) and the round-trip pass rate (n = candidates checked, estimated as the round-trip drops
    / (1 - pass rate)), the spread one run's sampling alone gives; the rows-per-minute ratios per round; SciFact
    test nDCG@10 of every model."""
    synth = {}
    for name in names:
        mine = [d for d in done if d["part"] == "synthesis" and d["engine"] == name]
        synth[name] = {k: [d.get(k) for d in mine] for k in ("round", "rows", "seconds", "rows_per_minute",
                                                               "seed_yield_by_kind", "roundtrip_pass_rate",
                                                               "drop_shares")}
        half = []
        for d in mine:
            p, rt = d.get("seed_yield") or 0.0, d.get("roundtrip_pass_rate") or 0.0
            checked = d.get("dropped", {}).get("roundtrip", 0) / (1 - rt) if rt < 1 else None
            half.append({"seed_yield_hq": round(1.96 * (p * (1 - p) / d.get("seed_yield_n", n_seeds)) ** 0.5, 3),
                         "roundtrip_pass_rate": round(1.96 * (rt * (1 - rt) / checked) ** 0.5, 3) if checked else None,
                         "roundtrip_checked_est": round(checked) if checked else None})
        synth[name]["binomial_95_half_width"] = half
        # a run paused from outside (SIGSTOP by another user of the machine): its wall time less the pause
        paused = [sum(x["paused_s"] for x in done if x["part"] == "pause" and x["engine"] == name
                      and x["round"] == d["round"]) for d in mine]
        if any(paused):
            synth[name]["paused_s"] = paused
            synth[name]["rows_per_minute_excluding_pauses"] = [round(60 * d["rows"] / (d["seconds"] - q), 2)
                                                               for d, q in zip(mine, paused)]
    def active_rpm(d: dict) -> float:
        q = sum(x["paused_s"] for x in done if x["part"] == "pause" and x["engine"] == d["engine"]
                and x["round"] == d["round"])
        return 60 * d["rows"] / (d["seconds"] - q)

    pairs = [(a, b) for a in done for b in done if a["part"] == b["part"] == "synthesis" and a["round"] == b["round"]
             and a["engine"] == names[-1] and b["engine"] == names[0] and a["rows_per_minute"]]
    ratios = [b["rows_per_minute"] / a["rows_per_minute"] for a, b in pairs]
    active_ratios = [active_rpm(b) / active_rpm(a) for a, b in pairs]
    evals = [d for d in done if d["part"] == "eval" and d.get("eval_max_docs") == eval_max_docs]
    ndcg: dict[str, object] = {d["model"]: round(d["scores"]["ndcg@10"], 4)
                               for d in evals if d["model"] in ("bm25", "base")}
    for name in names:
        runs = {d["train_seed"]: round(d["scores"]["ndcg@10"], 4) for d in evals
                if d["model"] == "finetuned" and d["engine"] == name}
        if runs:
            ndcg[f"finetuned_{name}"] = {"per_training_seed": runs, "mean": round(statistics.mean(runs.values()), 4)}
    return {"synthesis": synth, "rows_round0": rows_compared(done, names),
            f"rows_per_minute_ratio_{names[0]}_vs_{names[-1]}": [round(r, 2) for r in ratios],
            f"rows_per_minute_ratio_{names[0]}_vs_{names[-1]}_excluding_pauses": [round(r, 2) for r in active_ratios],
            "test_ndcg@10": ndcg}


def main() -> int:
    from reasonir.synth import SynthConfig

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--engines", default="openvino,llama-server", help="comma-separated; the ratio is first / last")
    p.add_argument("--seeds", type=int, default=80)
    p.add_argument("--kinds", default=",".join(SynthConfig.kinds))
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--train-seeds", default="42,43")
    p.add_argument("--max-steps", type=int, default=-1, help="> 0: fixed steps (smoke runs); default: TrainConfig's")
    p.add_argument("--eval-max-docs", type=int, default=None, help="evaluate on a corpus subset of this size")
    p.add_argument("--parts", default="synthesis,train",
                   help="synthesis, train, or report (only rewrite the results JSON from the run log)")
    p.add_argument("--scifact", type=Path, default=SCIFACT)
    p.add_argument("--lock", default=None, help="flock this file around each synthesis job")
    p.add_argument("--work", type=Path, default=None, help="rows and models (a rerun with it continues)")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    names = args.engines.split(",")
    work, log_path, done = resumable(args.out, args.work, "engine-rows-")
    print(f"work folder {work}; run log {log_path} ({len(done)} runs already)", flush=True)
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    load_start = loadavg()
    parts = set(args.parts.split(","))
    if "synthesis" in parts:
        synthesis_runs(args, names, work, log_path, done)
    if "train" in parts:
        train_runs(args, names, work, log_path, done)

    import openvino_genai
    import sentence_transformers
    import torch
    import transformers

    from reasonir.hardware import describe
    from reasonir.llm.native import BuildStamp, find_llama_server

    server = find_llama_server()
    stamp = BuildStamp.read(server) if server else None
    summary = summarise(done, names, args.eval_max_docs, args.seeds)
    print(json.dumps(summary, indent=1))
    # every command that added runs to the log (a rerun that continues it adds its own; --parts report adds none)
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    commands = previous.get("commands") or ([previous["command"]] if "command" in previous else [])
    if parts & {"synthesis", "train"}:
        commands.append("python benchmarks/bench_engine_rows.py " + " ".join(sys.argv[1:]))
    write_results(args.out, {
        "benchmark": "engine_rows_scifact",
        "commands": commands,
        "date": started_at, "loadavg_start_end": [load_start, loadavg()],
        "cpu": describe(), "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "sentence_transformers": sentence_transformers.__version__,
                     "openvino_genai": openvino_genai.__version__, "llama_server": stamp.__dict__ if stamp else None},
        "workload": {"seeds": args.seeds, "kinds": args.kinds.split(","), "synth_seed": SynthConfig.seed,
                     "corpus": str(args.scifact / "corpus.jsonl"), "rounds": args.rounds,
                     "order": [f"round {r}: {n}" for r, n in order(names, args.rounds)],
                     "train": f"TrainConfig defaults (reasonir train), seeds {args.train_seeds}, "
                              f"max_steps {args.max_steps}, on each engine's round-0 rows",
                     "eval": f"SciFact test, {'full corpus' if args.eval_max_docs is None else 'corpus subset of '}"
                             f"{'' if args.eval_max_docs is None else args.eval_max_docs}"},
        "note": "shared 2-core machine (other helpers' and the lead's jobs ran beside; the synthesis jobs held "
                "the benchmark lock); the load average is recorded around every run. The base encoder is evaluated as "
                "`bench_finetune_scifact.evaluate(None)` runs it (the `auto` encoder backend), the fine-tuned "
                "models as loaded sentence-transformers objects (torch fp32): compare fine-tuned with fine-tuned",
        "summary": summary,
        "runs": done,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
