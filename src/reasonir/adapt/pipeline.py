"""``adapt``: a corpus (and an LLM) in, a retriever that is better on it out, in one resumable run.

Stages, each writing into ``OUT`` and marking itself done in ``OUT/stages/<stage>.json`` (a rerun of the same
command skips what is done, and synthesis and training resume inside themselves):

1. **synthesize** (``reasonir.synth``): HQ and VL rows with hard negatives, and the judge rows (every clean
   candidate question, chosen by no ranker) into ``rows.jsonl``; every seed unless ``seeds`` or the time budget
   says fewer;
2. **label** (``reasonir.label``): the teacher's scores for each row, into ``rows.labelled.jsonl`` (for the
   ``distill`` recipe);
3. **train** (``reasonir.train``): each recipe from the base model on every row, and once per fold without that
   fold's seeds; every encoder (each merge share) alone and fused with BM25 is judged on the seeds it never saw
   (``reasonir.evaluate.crossfit``), and the best is handed back in ``model/`` only if it beats the base encoder
   there beyond noise (``reasonir.adapt.recipes``), else the base is;
4. **index** (``reasonir.retrieve``): the chosen retriever over the corpus in ``index/`` (the encoder alone, or a
   hybrid with BM25 at the chosen weight), which ``reasonir serve OUT`` serves;
5. **evaluate** (only with labelled queries, ``eval``): BM25, the base, every candidate, the handed-back encoder and
   the served retriever on the real queries, side by side;
then the report (``report.json``, ``report.md``, ``report.png``) and ``adapt.toml``, the file that reproduces the
run (``reasonir adapt --config OUT/adapt.toml``).

Example (the embedded SmolLM2 writes the rows; minutes on 2 cores for a few hundred documents)::

    from reasonir.adapt import AdaptConfig, adapt
    result = adapt(AdaptConfig(corpus="docs.jsonl"), "adapted")
    print(result.reason)
"""
from __future__ import annotations

import copy
import json
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasonir.adapt.config import AdaptConfig
from reasonir.data.atomic import atomic_open
from reasonir.llm.types import LLM

STAGES = ("synthesize", "label", "train", "index", "evaluate")
SYNTH_SHARE = 0.6  # of a time budget: synthesis stops taking seeds here, leaving time to train and index
CONFIG_FILE, ROWS, LABELLED, MODEL, INDEX = "adapt.toml", "rows.jsonl", "rows.labelled.jsonl", "model", "index"
JUDGE_SCORES = "candidates/judge-scores.json"  # per judge query: each retriever's nDCG@10, its seed, BM25's


class AdaptMismatchError(FileExistsError):
    """``OUT`` holds a run made with other settings (CLI exit code 2)."""


@dataclass
class AdaptResult:
    out: Path
    model: Path
    index: Path
    chosen: str  # the candidate handed back ("base" when none beat it)
    reason: str
    report: dict[str, Any]


def adapt(config: AdaptConfig, out: str | Path, llm: LLM | None = None, *, overwrite: bool = False,
          progress: bool = True, log: Callable[[str], None] = print,
          on_stage: Callable[[str], None] | None = None) -> AdaptResult:
    """Run (or resume) every stage of ``config`` into ``out``; ``llm`` defaults to ``load_llm(config.llm)``,
    started only if synthesis has work left. ``on_stage(name)`` is called as each stage starts."""
    from reasonir.data import load_corpus

    out = Path(out)
    _open(out, config, overwrite)
    started = time.monotonic()
    deadline = started + 60 * SYNTH_SHARE * config.budget_minutes if config.budget_minutes else None
    documents = load_corpus(config.corpus)
    run = _Run(out, config, log, on_stage)
    run.stage("synthesize", lambda: _synthesize(config, documents, out, llm, deadline, progress, log),
              budget=config.budget_minutes)
    if "distill" in config.recipes:
        run.stage("label", lambda: _label(config, documents, out))
    train = run.stage("train", lambda: _train(config, documents, out, progress, log))
    run.stage("index", lambda: _index(config, documents, out, train))
    if config.eval:
        run.stage("evaluate", lambda: _evaluate(config, out, train))
    from reasonir.adapt.report import write_report

    report = write_report(out, config, run.summaries, time.monotonic() - started)
    return AdaptResult(out, out / MODEL, out / INDEX, train["chosen"], train["reason"], report)


class _Run:
    """Stage markers: skip a finished stage, time and record the others."""

    def __init__(self, out: Path, config: AdaptConfig, log: Callable[[str], None],
                 on_stage: Callable[[str], None] | None) -> None:
        self.out, self.config, self.log, self.on_stage = out, config, log, on_stage
        self.summaries: dict[str, dict[str, Any]] = {}
        self.steps = [s for s in STAGES if s != "label" or "distill" in config.recipes]
        self.steps = [s for s in self.steps if s != "evaluate" or config.eval]

    def stage(self, name: str, work: Callable[[], dict[str, Any]], **key: Any) -> dict[str, Any]:
        marker = self.out / "stages" / f"{name}.json"
        number = f"[{self.steps.index(name) + 1}/{len(self.steps)}] {name}"
        if marker.exists():
            done = json.loads(marker.read_text())
            if all(done.get(k) == v for k, v in key.items()):
                self.log(f"{number}: done in an earlier run ({done['seconds']:.0f} s)")
                self.summaries[name] = done
                return done["summary"]
        if self.on_stage is not None:
            self.on_stage(name)
        self.log(f"{number} ...")
        start = time.perf_counter()
        summary = work()
        record = {"seconds": round(time.perf_counter() - start, 1), "summary": summary, **key}
        marker.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(marker, overwrite=True) as fh:
            json.dump(record, fh, indent=2, default=str)
        self.summaries[name] = record
        self.log(f"      {summary.get('line', '')} ({record['seconds']:.0f} s)")
        return summary


def _open(out: Path, config: AdaptConfig, overwrite: bool) -> None:
    """Write ``adapt.toml``; a folder made with other settings is refused (``overwrite`` starts again)."""
    path = out / CONFIG_FILE
    if path.exists() and not overwrite:
        earlier = AdaptConfig.read(path)
        if earlier.fingerprint() != config.fingerprint():
            raise AdaptMismatchError(f"{out} holds a run with other settings ({path}); rerun with those settings "
                                     "(--config " + str(path) + "), choose another --out, or pass --overwrite")
    elif path.exists() and overwrite:
        for name in (ROWS, LABELLED):
            (out / name).unlink(missing_ok=True)
        for name in ("stages", "candidates", MODEL, INDEX, ROWS + ".synth"):
            shutil.rmtree(out / name, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, overwrite=True) as fh:
        fh.write(config.to_toml())


# ---- the stages ---------------------------------------------------------------------------------------------------

def _synthesize(config: AdaptConfig, documents, out: Path, llm: LLM | None, deadline: float | None,
                progress: bool, log: Callable[[str], None]) -> dict[str, Any]:
    from contextlib import nullcontext

    from reasonir.llm import load_llm
    from reasonir.synth import synthesize

    synth = copy.deepcopy(config.synth)
    synth.seeds.n = config.seeds if config.seeds is not None else synth.seeds.n
    with (nullcontext(llm) if llm is not None else load_llm(config.llm)) as model:
        # lines in the log every 30 s or so where no bar can be drawn (the demo, a piped adapt)
        report = synthesize(documents, model, out / ROWS, synth, progress=progress, deadline=deadline,
                            progress_log=lambda line: _flushed(log, f"      {line}"))
    log(report.format())
    data = report.as_dict()
    judge = sum(report.dev_rows.values()) + sum(report.judge_rows.values())
    return {"rows": report.rows, "judge_rows": judge, "kept": data["kept"], "seed_yield": data["seed_yield"],
            "seeds": data["seeds"].get("selected"), "not_started": report.not_started, "usage": report.usage_text,
            "line": f"{report.rows} training rows and {judge} judge rows from "
                    f"{data['seeds'].get('selected')} seeds"
                    + (f"; the time budget left {report.not_started} of {report.not_started + sum(report.seeds_tried.values())}"
                       " (seed, kind) chains unstarted (a rerun with more --budget-minutes continues)"
                       if report.not_started else "")}


def _flushed(log: Callable[[str], None], line: str) -> None:
    """``log(line)``, then stdout flushed: piped, print's output waits in a block buffer for minutes."""
    log(line)
    sys.stdout.flush()


def _label(config: AdaptConfig, documents, out: Path) -> dict[str, Any]:
    from reasonir.data import read_training_rows, write_training_rows
    from reasonir.label import label_rows

    labels = label_rows(read_training_rows(out / ROWS), documents, config.teacher)
    write_training_rows(labels.rows, out / LABELLED, overwrite=True)
    summary = labels.summary()
    return summary | {"teacher": config.teacher.describe(),
                      "line": f"{summary['rows_out']} of {summary['rows_in']} rows scored by the teacher "
                              f"({config.teacher.describe()})"}


def _train(config: AdaptConfig, documents, out: Path, progress: bool, log: Callable[[str], None]) -> dict[str, Any]:
    from reasonir.adapt.recipes import Trained, choose, judge_candidates
    from reasonir.data import read_training_rows
    from reasonir.evaluate.crossfit import JudgeSet

    rows = read_training_rows(out / ROWS)
    judge = JudgeSet.from_rows(rows, documents, config.folds)
    if not any(not r.is_dev for r in rows):
        raise RuntimeError(f"the LLM produced no usable training rows; see the synthesis report in {out}")
    if len(judge) == 0:
        reason = ("no judge rows (the synthesizer writes them unless synth.judge_rows is off): nothing could vouch "
                  "for a fine-tuned model, so none was trained and the base model is handed back")
        _hand_back(None, config, out)
        return {"chosen": "base", "form": "dense", "weight": 1.0, "reason": reason, "line": reason}
    trained = {}
    for recipe in config.recipes:
        full, stats = _train_recipe(config, recipe, out, None, progress, log)
        folds = [_train_recipe(config, recipe, out, fold, progress, log)[0] for fold in range(config.folds)]
        trained[recipe] = Trained(full, folds, stats)
    base, candidates = judge_candidates(trained, config.merges, config.hybrid_weights, judge, out / "candidates",
                                       config.base_model, log=log)
    choice = choose(candidates, base, judge.seed)
    _write_judge_scores(out / JUDGE_SCORES, judge, [base, *candidates])
    _hand_back(choice.chosen.path, config, out)
    return choice.as_dict() | {"judge_queries": len(judge), "judge_seeds": judge.seeds, "folds": config.folds,
                               "base_judge": round(statistics.fmean(base.scores.values()), 4),
                               "line": choice.reason}


def _write_judge_scores(path: Path, judge, candidates) -> None:
    """Every judge query's score under each retriever, its seed and BM25's score: what lets a benchmark ask which
    judge queries predict the real change (all, or only those BM25 already places)."""
    from reasonir.retrieve import BM25Retriever

    record = {"seed": judge.seed, "fold": judge.fold, "bm25": judge.score(judge.search([BM25Retriever()])),
              "scores": {c.name: c.scores for c in candidates}}
    with atomic_open(path, overwrite=True) as fh:
        json.dump(record, fh)


def _train_recipe(config: AdaptConfig, recipe: str, out: Path, fold: int | None, progress: bool,
                  log: Callable[[str], None]) -> tuple[Path, dict[str, Any]]:
    """Train one recipe from the base model on every row (``fold=None``) or without one fold's seeds, unmerged
    (merges are judged afterwards); a finished one is kept."""
    from reasonir.data import read_training_rows, write_training_rows
    from reasonir.evaluate.crossfit import training_rows
    from reasonir.train import TrainConfig
    from reasonir.train.trainer import fit

    folder = out / "candidates" / recipe / ("full" if fold is None else f"fold-{fold}")
    stats_file = folder / "adapt-train.json"
    if stats_file.exists():
        return folder, json.loads(stats_file.read_text())
    data = out / (LABELLED if recipe == "distill" else ROWS)
    if fold is not None:
        rows = training_rows(read_training_rows(data), fold, config.folds)
        data = write_training_rows(rows, folder.with_name(folder.name + ".rows.jsonl"), overwrite=True)
    # holdout 0: the trainer's label-free signal would score the judge rows through each copy, uncrossed, at about
    # 10 s a training; the judge does it properly after (cross-fitted), so it is off unless [train] asks for it
    train_config = TrainConfig(data=[str(data)], output_dir=folder, base_model=config.base_model, merge_base=0.0,
                               overwrite=True, progress=progress, **({"holdout": 0.0} | config.train))
    log(f"      training {recipe} " + ("on every seed" if fold is None else f"without fold {fold}"))
    result = fit(train_config, log=lambda message: None if progress is False else log(f"      {message}"))
    stats = {"steps": result.steps, "train_seconds": round(result.train_seconds, 1),
             "batch_size": train_config.batch_size, "holdout_rows": result.holdout_rows,
             "holdout_recall": [result.holdout_before, result.holdout_after],
             "teacher_tau": [result.teacher_tau_before, result.teacher_tau_after]}
    with atomic_open(stats_file, overwrite=True) as fh:
        json.dump(stats, fh)
    return folder, stats


def _hand_back(path: str | None, config: AdaptConfig, out: Path) -> None:
    """Copy the chosen model (None: the base) to ``OUT/model``, atomically."""
    target, partial = out / MODEL, out / (MODEL + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    if path is None:
        from reasonir.models import resolve_model

        base = resolve_model(config.base_model)
        # a copy of its files has the base's identity (model_identity), so the index stage reads the judge's
        # encoding of the corpus from the embedding cache instead of encoding it again
        if Path(base).is_dir():
            shutil.copytree(base, partial)
        else:
            from sentence_transformers import SentenceTransformer

            SentenceTransformer(base, device="cpu").save(str(partial))
    else:
        shutil.copytree(path, partial, ignore=shutil.ignore_patterns("checkpoints", "adapt-train.json"))
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


def _index(config: AdaptConfig, documents, out: Path, train: dict[str, Any]) -> dict[str, Any]:
    """The retriever the judge chose, indexed over the corpus: the handed-back encoder alone, or fused with BM25."""
    from reasonir.retrieve import make_retriever

    weight = train.get("weight", 1.0)
    if train.get("form", "dense") == "hybrid":
        retriever = make_retriever("hybrid", str(out / MODEL), weights=[1 - weight, weight], show_progress=False)
        what = f"hybrid index (BM25 {1 - weight:g} + the handed-back encoder {weight:g})"
    else:
        retriever, what = make_retriever("dense", str(out / MODEL), show_progress=False), "dense index"
    retriever.index(documents).save(out / INDEX, overwrite=True)
    return {"documents": len(documents), "form": train.get("form", "dense"), "weight": weight,
            "line": f"{what} of {len(documents)} documents in {out / INDEX}"}


def _evaluate(config: AdaptConfig, out: Path, train: dict[str, Any]) -> dict[str, Any]:
    """BM25, every retriever the judge scored (the base and each candidate, dense and hybrid) and the saved index
    that ``serve`` uses, on the labelled queries; each judged one beside its judge change (the judge's check)."""
    from reasonir.data import load_dataset
    from reasonir.evaluate.evaluator import evaluate_retriever
    from reasonir.adapt.recipes import dense_retriever, with_bm25
    from reasonir.evaluate.crossfit import MATTERS, sign_agreement
    from reasonir.evaluate.metrics import evaluate_run, parse_measure
    from reasonir.evaluate.runs import prepare_run
    from reasonir.evaluate.table import TABLE_MEASURES, Comparison
    from reasonir.retrieve import BM25Retriever
    from reasonir.retrieve.hybrid import FUSION_DEPTH
    from reasonir.retrieve.store import load_index

    data = load_dataset(config.eval, config.eval_split)
    measures = [parse_measure(m) for m in TABLE_MEASURES]
    rows: dict[str, dict[str, float]] = {}

    def score(name: str, run) -> None:
        run = prepare_run(run, data.queries, FUSION_DEPTH, ignore_identical_ids=config.ignore_identical_ids)
        rows[name] = evaluate_run(data.qrels, run, measures)

    # every retriever at the depth a served hybrid fuses, so each row is what `serve` would return
    bm25 = BM25Retriever().index(data.documents).search(data.queries, k=FUSION_DEPTH)
    score("bm25", bm25)
    dense_runs: dict[str | None, Any] = {}
    checks = []
    for candidate in [{"name": "base", "recipe": "base", "path": None, "form": "dense", "weight": 1.0,
                       "judge_change": 0.0}, *train.get("candidates", [])]:
        path = candidate["path"]
        if path not in dense_runs:  # one encoding of the corpus per encoder
            model = path if path is not None else config.base_model
            dense_runs[path] = dense_retriever(model).index(data.documents).search(data.queries, k=FUSION_DEPTH)
        run = dense_runs[path]
        if candidate["form"] == "hybrid":
            run = with_bm25(bm25, run, candidate["weight"])
        score(candidate["name"], run)
        checks.append({"name": candidate["name"], "judge_change": candidate.get("judge_change"),
                       "real_change": round(rows[candidate["name"]]["ndcg@10"] - rows["base"]["ndcg@10"], 4)})
    served = f"served index ({train['chosen']})"
    evaluation = evaluate_retriever(load_index(out / INDEX, show_progress=False), data, index=False, k=FUSION_DEPTH,
                                    measures=measures, ignore_identical_ids=config.ignore_identical_ids)
    rows[served] = evaluation.scores
    table = Comparison(str(config.eval), [m.key for m in measures], rows)
    agree, mattered = sign_agreement([(c["judge_change"], c["real_change"]) for c in checks[1:]
                                      if c["judge_change"] is not None])
    before, after = rows["base"]["ndcg@10"], rows[served]["ndcg@10"]
    return {"table": table.to_dict(), "text": table.to_text(), "base_ndcg@10": before, "adapted_ndcg@10": after,
            "judge_check": {"candidates": checks, f"real_change_at_least_{MATTERS}": mattered,
                            "sign_agreement": agree},
            "line": f"nDCG@10 on {len(data.queries)} labelled queries: base {before:.4f}, served retriever "
                    f"({train['chosen']}) {after:.4f} ({after - before:+.4f}); the judge's change had the real "
                    f"change's sign for {agree} of the {mattered} candidates whose real change is {MATTERS} or more"}
