"""The main job: the whole ReasonIR pipeline on one corpus, end to end, with the embedded defaults.

synthesize (HQ and VL rows with hard negatives, from the corpus documents only) -> train (contrastive fine-tuning
of all-MiniLM-L6-v2 on those rows) -> evaluate BM25, the base encoder and the fine-tuned one on the dataset's
queries, side by side.

The defaults are sized so ``make demo`` finishes in minutes on a 2-core laptop with SmolLM2-135M as the LLM: that
proves the pipeline runs, not that the data is good (point ``--llm-base-url`` at a capable model for that).
Every stage resumes: a rerun reuses the synthesized rows (and the LLM cache) and retrains only if asked.

Example (about 10 minutes on 2 cores)::

    reasonir demo --dataset examples/scifact-sample --workdir demo-output
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reasonir.data.records import Dataset


def bundled_sample() -> Path:
    """The SciFact sample shipped with the repository (examples/scifact-sample, CC BY-NC 2.0, see its README)."""
    return Path(__file__).resolve().parents[2] / "examples" / "scifact-sample"


@dataclass
class DemoConfig:
    """Sizes of each stage; small enough for a CPU laptop and the 135M-parameter embedded LLM."""

    dataset: str | Path = field(default_factory=bundled_sample)
    workdir: str | Path = "demo-output"
    hq_seeds: int = 24  # seed documents for HQ rows
    judge_candidates_per_seed: float = 1.5  # documents the LLM judges per seed kept (synth default: 3)
    vl_seeds: int = 4  # seed documents for VL rows (each VL example is a long query and a long positive)
    vl_words: tuple[int, int] = (300, 500)  # the paper's range is 300-2000 words; the demo keeps the short end
    max_tokens: int = 400  # cap on every LLM answer, so one slow answer cannot hold the demo up
    base_model: str | None = None  # None: all-MiniLM-L6-v2 (reasonir.models.DEFAULT_ENCODER)
    batch_size: int = 8  # lowered to the number of usable rows when SmolLM2 yields fewer
    epochs: float = 3.0
    learning_rate: float = 2e-5
    document_max_length: int = 256
    retrain: bool = False  # train again even if workdir/model exists


@dataclass
class DemoResult:
    synthesized: dict[str, int]  # rows per kind
    train_rows: int
    table: Any  # reasonir.evaluate.Comparison
    seconds: dict[str, float] = field(default_factory=dict)
    usage: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"synthesized": self.synthesized, "train_rows": self.train_rows, "table": self.table.to_dict(),
                "seconds": {k: round(v, 1) for k, v in self.seconds.items()}}


def _synthesize(documents, llm, out: Path, config: DemoConfig, kind: str, seeds: int, log) -> int:
    from reasonir.synth import SynthConfig, synthesize
    from reasonir.synth.config import cap_max_tokens

    synth = SynthConfig(kinds=(kind,))
    synth.seeds.n = seeds
    synth.seeds.candidates_per_seed = config.judge_candidates_per_seed
    synth.vl.length_words = config.vl_words
    cap_max_tokens(synth, config.max_tokens)
    report = synthesize(documents, llm, out, synth, progress=True)
    log(report.format())
    return report.kept.get(kind, 0)


def _train_fitting_batch(data: list[str], model_dir: Path, config: DemoConfig, batch_size: int, log) -> None:
    """Train, halving the batch while SmolLM2's few rows cannot fill one (a mined negative shared by several rows
    is a repeated text, which the no-duplicates batch sampler keeps out of a batch)."""
    from reasonir.train import NotEnoughDataError, TrainConfig, train

    while True:
        try:
            train(TrainConfig(data=data, output_dir=model_dir, base_model=config.base_model, batch_size=batch_size,
                              epochs=config.epochs, learning_rate=config.learning_rate,
                              document_max_length=config.document_max_length, overwrite=True), log=log)
            return
        except NotEnoughDataError:
            if batch_size <= 2:
                raise
            batch_size //= 2
            log(f"too few distinct rows for that batch; retrying with batch size {batch_size}")


def run_demo(config: DemoConfig | None = None, llm=None, *, log: Callable[[str], None] = print) -> DemoResult:
    """Synthesize, train and evaluate on ``config.dataset``; ``llm`` defaults to the embedded SmolLM2."""
    from reasonir.data import load_dataset, read_training_rows
    from reasonir.data.atomic import atomic_open
    from reasonir.evaluate import compare_retrievers
    from reasonir.llm import load_llm
    from reasonir.retrieve import BM25Retriever, DenseRetriever, HybridRetriever

    config = config or DemoConfig()
    work = Path(config.workdir)
    work.mkdir(parents=True, exist_ok=True)
    dataset: Dataset = load_dataset(str(config.dataset))
    seconds: dict[str, float] = {}

    # 1. Synthesize from the documents alone: the evaluation queries never reach the LLM.
    start = time.perf_counter()
    owned = llm is None
    llm = llm or load_llm()
    try:
        files = {"hq": work / "hq.jsonl", "vl": work / "vl.jsonl"}
        counts = {kind: _synthesize(dataset.documents, llm, files[kind], config, kind, n, log)
                  for kind, n in (("hq", config.hq_seeds), ("vl", config.vl_seeds)) if n > 0}
        usage = llm.usage().format()
    finally:
        if owned:
            llm.close()
    seconds["synthesize"] = time.perf_counter() - start

    # 2. Train on every non-empty file (ReasonIR mixes VL and HQ data).
    start = time.perf_counter()
    data = [str(files[k]) for k, n in counts.items() if n > 0]
    if not data:
        raise RuntimeError("the LLM produced no usable rows; see the synthesis reports above")
    loaded = [row for path in data for row in read_training_rows(path)]
    rows = len(loaded)
    usable = sum(1 for row in loaded if row.neg)  # one hard negative per query, as ReasonIR's HQ rows have
    model_dir = work / "model"
    if config.retrain or not (model_dir / "config_sentence_transformers.json").exists():
        _train_fitting_batch(data, model_dir, config, max(2, min(config.batch_size, usable)), log)
    seconds["train"] = time.perf_counter() - start

    # 3. Evaluate before and after, beside BM25.
    start = time.perf_counter()
    retrievers = {"bm25": BM25Retriever(), "minilm (base)": DenseRetriever(config.base_model),
                  "minilm (fine-tuned)": DenseRetriever(str(model_dir)),
                  "hybrid (bm25 + fine-tuned)": HybridRetriever([BM25Retriever(), DenseRetriever(str(model_dir))])}
    table = compare_retrievers(dataset, retrievers, name=str(config.dataset))
    seconds["evaluate"] = time.perf_counter() - start
    result = DemoResult(counts, rows, table, seconds, usage)
    summary = result.as_dict() | {"config": asdict(config)}
    with atomic_open(work / "results.json", overwrite=True) as fh:  # each run replaces the last run's results
        fh.write(json.dumps(summary, indent=2, default=str))
    return result
