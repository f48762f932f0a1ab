"""The main job: the whole ReasonIR pipeline on one corpus, end to end, with the embedded defaults.

synthesize (HQ and VL rows with hard negatives, from the corpus documents only) -> label (a teacher, the hybrid of
BM25 and the base encoder, scores each row's positive and negatives: ``reasonir.label``) -> train
(all-MiniLM-L6-v2 distils the teacher's scores) -> evaluate BM25, the base encoder and the fine-tuned one on the
dataset's queries, side by side.

The defaults are sized so ``make demo`` finishes in minutes on a 2-core laptop with SmolLM2-135M as the LLM: that
proves the pipeline runs, not that the data is good (point ``--llm-base-url`` at a capable model for that).
Every stage resumes: a rerun reuses the synthesized rows (and the LLM cache) and retrains only if asked.

Example (about 10 minutes on 2 cores)::

    reasonir demo --dataset examples/scifact-sample --workdir demo-output
"""
from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reasonir.data.records import Dataset
from reasonir.models import DEFAULT_ENCODER


def bundled_sample() -> Path:
    """The SciFact sample shipped with the repository (examples/scifact-sample, CC BY-NC 2.0, see its README)."""
    return Path(__file__).resolve().parents[2] / "examples" / "scifact-sample"


@dataclass
class DemoConfig:
    """Sizes of each stage, for a CPU laptop and the 135M-parameter embedded LLM (``make demo`` within about 10
    minutes on 2 cores from cold caches). Synthesis settings are the synthesizer's own defaults (sampling,
    round-trip selection with the base encoder) with fewer candidates per seed; training settings the trainer's,
    chosen per base model (all-MiniLM-L6-v2: half the base weights merged back after training, WiSE-FT)."""

    dataset: str | Path = field(default_factory=bundled_sample)
    workdir: str | Path = "demo-output"
    hq_seeds: int = 60  # seed documents for HQ rows
    # 4 of the synthesizer's 12: on SciFact, keeping the best of 4 or of 8 made no measurable difference to the
    # fine-tuned model (benchmarks/results/sweep_finetune_scifact_round2.json), and more cost the demo minutes
    hq_candidates: int = 4
    vl_seeds: int = 6  # seed documents for VL rows
    vl_words: tuple[int, int] = (300, 600)  # the paper's range is 300-2000 words; SmolLM2's 2k window fits the short end
    base_model: str | None = None  # None: all-MiniLM-L6-v2 (reasonir.models.DEFAULT_ENCODER)
    # a few dozen rows: 8 gives several steps an epoch (on SciFact's dev claims batch 16 trained as well as 32)
    batch_size: int = 8  # lowered when the rows cannot fill one batch
    epochs: float = 1.0  # the trainer raises it toward the base model's minimum steps (MiniLM: 30, at most 3 epochs)
    min_steps: int | None = None  # None: the base model's (models/instructions.json)
    # all-MiniLM-L6-v2 was trained on 128 word pieces; 128 instead of 256 about halves a step's cost on 2 cores
    # (a SciFact step of 32 rows with one hard negative at 256 tokens took 24-38 s), and search still reads 256
    document_max_length: int = 128
    merge_base: float | None = None  # None: the base model's (MiniLM 0.5, WiSE-FT)
    # pseudo-labels from the hybrid teacher (reasonir.label); False trains on the rows' one-hot labels
    label: bool = True
    # texts the teacher scores per row: 4 of the labeller's 8 keeps training within the demo's 10 minutes (8 took
    # 171 s for 29 rows on 2 busy cores, one-hot rows 21 s)
    label_candidates: int = 4
    retrain: bool = False  # train again even if workdir/model exists


@dataclass
class DemoResult:
    synthesized: dict[str, int]  # rows per kind
    train_rows: int
    table: Any  # reasonir.evaluate.Comparison
    seconds: dict[str, float] = field(default_factory=dict)
    usage: str = ""
    synthesis: dict[str, Any] = field(default_factory=dict)  # the synthesis report (as_dict)
    holdout: dict[str, Any] = field(default_factory=dict)  # label-free dev signal from training
    labelled: dict[str, Any] = field(default_factory=dict)  # the teacher's labelling summary (label_rows)

    def as_dict(self) -> dict[str, Any]:
        return {"synthesized": self.synthesized, "train_rows": self.train_rows, "table": self.table.to_dict(),
                "seconds": {k: round(v, 1) for k, v in self.seconds.items()}, "synthesis": self.synthesis,
                "holdout": self.holdout, "labelled": self.labelled}


def _synthesize(documents, llm, out: Path, config: DemoConfig) -> Any:
    from reasonir.synth import SynthConfig, synthesize

    synth = SynthConfig(kinds=("hq", "vl"))
    synth.seeds.n = max(config.hq_seeds, config.vl_seeds)
    synth.hq.max_seeds, synth.vl.max_seeds = config.hq_seeds, config.vl_seeds
    synth.hq.candidates = config.hq_candidates
    synth.vl.length_words = config.vl_words
    return synthesize(documents, llm, out, synth)


def _train_fitting_batch(data: list[str], model_dir: Path, config: DemoConfig, batch_size: int, log) -> Any:
    """Train, halving the batch while the rows cannot fill one (a mined negative shared by several rows is a
    repeated text, which the no-duplicates batch sampler keeps out of a batch)."""
    from reasonir.train import NotEnoughDataError, TrainConfig
    from reasonir.train.trainer import fit

    while True:
        try:
            return fit(TrainConfig(data=data, output_dir=model_dir, base_model=config.base_model,
                                   batch_size=batch_size, epochs=config.epochs, min_steps=config.min_steps,
                                   merge_base=config.merge_base,
                                   progress=False,
                                   document_max_length=config.document_max_length, overwrite=True), log=log)
        except NotEnoughDataError:
            if batch_size <= 2:
                raise
            batch_size //= 2
            log(f"too few distinct rows for that batch; retrying with batch size {batch_size}")


def run_demo(config: DemoConfig | None = None, llm=None, *, log: Callable[[str], None] = print) -> DemoResult:
    """Synthesize, label, train and evaluate on ``config.dataset``; ``llm`` defaults to the embedded SmolLM2. Prints
    one line per stage through ``log``; the details (synthesis report, training log) go to ``<workdir>/demo.log``
    (``reasonir demo`` also sends third-party logs there: ``quiet_third_party``)."""
    from reasonir.data import load_dataset
    from reasonir.data.atomic import atomic_open

    config = config or DemoConfig()
    work = Path(config.workdir)
    work.mkdir(parents=True, exist_ok=True)
    detail = _file_logger(work / "demo.log")
    dataset: Dataset = load_dataset(str(config.dataset))
    seconds: dict[str, float] = {}
    clock = _Stopwatch(seconds)
    with clock("synthesize"):
        report, rows_file = _synthesize_stage(dataset, llm, work, config, log, detail)
    log(f"      kept {report.rows} rows ({', '.join(f'{k} {v}' for k, v in sorted(report.kept.items()))}) of "
        f"{sum(report.candidates.values())} candidates; seeds yielding a row: "
        + ", ".join(f"{k} {v:.0%}" for k, v in sorted(report.rates()['seed_yield'].items()))
        + f"; {seconds['synthesize']:.0f} s")
    with clock("label"):
        train_file, loaded, labelled = _label_stage(rows_file, dataset, work, config, log)
    with clock("train"):
        holdout = _train_stage(train_file, len(loaded), work / "model", config, log, detail)
    log(f"[4/4] evaluating on {len(dataset.queries)} queries ...")
    with clock("evaluate"):
        table = _evaluate_stage(dataset, work / "model", config)
    result = DemoResult(dict(report.kept), len(loaded), table, seconds, report.usage_text, report.as_dict(), holdout,
                        labelled)
    summary = result.as_dict() | {"config": asdict(config)}
    with atomic_open(work / "results.json", overwrite=True) as fh:  # each run replaces the last run's results
        fh.write(json.dumps(summary, indent=2, default=str))
    return result


class _Stopwatch:
    """``with clock("stage"):`` records the stage's wall seconds, even when the stage has nothing to do."""

    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds = seconds

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds[stage] = time.perf_counter() - start


def _synthesize_stage(dataset: Dataset, llm, work: Path, config: DemoConfig, log: Callable[[str], None],
                      detail: Callable[[str], None]) -> tuple[Any, Path]:
    """1. Synthesize from the documents alone: the evaluation queries never reach the LLM."""
    from reasonir.llm import load_llm

    log(f"[1/4] synthesizing from {len(dataset.documents)} documents of {config.dataset} "
        f"({config.hq_seeds} HQ seeds, {config.vl_seeds} VL seeds) ...")
    owned = llm is None
    llm = llm or load_llm()
    rows_file = work / "rows.jsonl"
    try:
        report = _synthesize(dataset.documents, llm, rows_file, config)
    finally:
        if owned:
            llm.close()
    detail(report.format())
    return report, rows_file


def _label_stage(rows_file: Path, dataset: Dataset, work: Path, config: DemoConfig,
                 log: Callable[[str], None]) -> tuple[Path, list, dict[str, Any]]:
    """2. Label: the teacher's scores for each row's texts (rows it cannot place are dropped)."""
    from reasonir.data import read_training_rows, write_training_rows
    from reasonir.label import TeacherConfig, label_rows

    loaded = read_training_rows(rows_file) if rows_file.exists() else []
    if not loaded:
        raise RuntimeError(f"the LLM produced no usable rows; see the synthesis report in {work / 'demo.log'}")
    if not config.label:
        return rows_file, loaded, {}
    start = time.perf_counter()
    teacher = TeacherConfig(dense_model=config.base_model, candidates=config.label_candidates)
    log(f"[2/4] labelling with the teacher, {teacher.describe()} ...")
    labels = label_rows(loaded, dataset.documents, teacher)
    if labels.rows:
        rows_file = write_training_rows(labels.rows, work / "rows.labelled.jsonl", overwrite=True)
        loaded = labels.rows
    log(f"      {len(labels.rows)} of {labels.rows_in} rows kept (positive in the teacher's top "
        f"{teacher.keep_k}), {teacher.candidates} texts scored each; {time.perf_counter() - start:.0f} s")
    return rows_file, loaded, labels.summary()


def _train_stage(train_file: Path, rows: int, model_dir: Path, config: DemoConfig, log: Callable[[str], None],
                 detail: Callable[[str], None]) -> dict[str, Any]:
    """3. Train on the rows (ReasonIR mixes VL and HQ data); returns the label-free signal's record."""
    from reasonir.train.holdout import HOLDOUT_K

    log(f"[3/4] fine-tuning {config.base_model or DEFAULT_ENCODER.rsplit('/', 1)[-1]} on {rows} rows ...")
    if not config.retrain and (model_dir / "config_sentence_transformers.json").exists():
        log(f"      reusing {model_dir} (pass --retrain to train again)")
        return {}
    result = _train_fitting_batch([str(train_file)], model_dir, config, max(2, min(config.batch_size, rows)), detail)
    signal = (f"; held-out synthesized rows: positive recall@{HOLDOUT_K} {result.holdout_before:.2f} -> "
              f"{result.holdout_after:.2f}" if result.holdout_rows else "")
    if result.teacher_tau_rows:
        signal += f", agreement with the teacher {result.teacher_tau_before:.2f} -> {result.teacher_tau_after:.2f}"
    log(f"      {result.steps} steps, final loss {result.train_loss:.3f}{signal}")
    return {"rows": result.holdout_rows, "k": HOLDOUT_K, "recall_before": result.holdout_before,
            "recall_after": result.holdout_after, "teacher_tau_before": result.teacher_tau_before,
            "teacher_tau_after": result.teacher_tau_after}


def _evaluate_stage(dataset: Dataset, model_dir: Path, config: DemoConfig) -> Any:
    """4. Evaluate before and after, beside BM25, and each encoder in a hybrid with BM25 (the base one is the
    control)."""
    from reasonir.evaluate import compare_retrievers
    from reasonir.retrieve import BM25Retriever, DenseRetriever, HybridRetriever

    base, tuned = DenseRetriever(config.base_model, show_progress=False), \
        DenseRetriever(str(model_dir), show_progress=False)
    retrievers = {"bm25": BM25Retriever(), "minilm (base)": base, "minilm (fine-tuned)": tuned,
                  "hybrid (bm25 + base)": HybridRetriever([BM25Retriever(), base]),
                  "hybrid (bm25 + fine-tuned)": HybridRetriever([BM25Retriever(), tuned])}
    return compare_retrievers(dataset, retrievers, name=str(config.dataset))


def _file_logger(path: Path) -> Callable[[str], None]:
    def write(message: str) -> None:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(message.rstrip() + "\n")

    return write
