"""Training settings: one dataclass whose defaults say where they come from.

Example:
    >>> cfg = TrainConfig(data=[DataSource.parse("hq.jsonl:0.7"), DataSource.parse("vl.jsonl:0.3")], output_dir="out")
    >>> cfg.resolve(temperature=0.02, learning_rate=2e-5)
    >>> cfg.scale, cfg.effective_negatives_per_query
    (50.0, 63)
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

InstructionFormat = Literal["auto", "gritlm", "e5", "plain", "none"]
Backbone = Literal["auto", "sentence-transformer", "llm"]


@dataclass(frozen=True)
class DataSource:
    """One training file and its share of the mixture (``None``: in proportion to its size)."""

    path: Path
    ratio: float | None = None

    @classmethod
    def parse(cls, spec: str) -> DataSource:
        """``"file.jsonl"`` or ``"file.jsonl:0.3"`` (a trailing ``:number`` is the ratio; Windows drives are kept).

        >>> DataSource.parse("data/hq.jsonl:0.3")
        DataSource(path=PosixPath('data/hq.jsonl'), ratio=0.3)
        """
        match = re.fullmatch(r"(.+):(\d+(?:\.\d*)?|\.\d+)", spec)
        if match is None:
            return cls(Path(spec))
        ratio = float(match.group(2))
        if ratio <= 0:
            raise ValueError(f"{spec}: the mixing ratio must be positive")
        return cls(Path(match.group(1)), ratio)

    def __str__(self) -> str:
        return f"{self.path}" if self.ratio is None else f"{self.path}:{self.ratio:g}"


@dataclass
class TrainConfig:
    """Everything ``train`` needs. Defaults follow ReasonIR (Shao et al., 2025) where the paper fixes a value, and
    sentence-transformers / Hugging Face Trainer defaults otherwise; sizes are scaled for a laptop CPU.

    ReasonIR trains with InfoNCE over in-batch plus hard negatives on normalized embeddings at temperature 0.02,
    GritLM-style instructions on queries, a mixture of public, VL and HQ data, and GradCache for large batches.
    """

    data: list[DataSource]
    output_dir: str | Path
    base_model: str | None = None  # None: all-MiniLM-L6-v2 (packaged weights; reasonir.models.DEFAULT_ENCODER)
    backbone: Backbone = "auto"  # "llm": decoder with bidirectional attention (models/bidirectional.py)
    dev_dir: str | Path | None = None  # BEIR folder evaluated during training through reasonir's evaluator
    dev_split: str = "test"  # BEIR data sets often ship only a test split
    dev_max_documents: int | None = None  # corpus subset for a quick dev evaluation (judged documents are kept)
    dev_max_queries: int | None = None

    # None: from the base model's entry in models/instructions.json (all-MiniLM-L6-v2: 0.05, i.e. scale 20 as it was
    # trained; LLM backbones: ReasonIR's 0.02, scale 50); see reasonir.models.get_training_defaults
    temperature: float | None = None
    batch_size: int = 32  # queries per optimizer step (per device); ReasonIR used far larger batches with GradCache
    negatives_per_query: int = 1  # hard negatives per query (ReasonIR: one LLM-written hard negative per HQ query)
    # Rows that carry a teacher's scores (``reasonir label``) train by distillation (KL to the teacher's softmax at
    # this temperature; the student's is ``temperature``). 0.05, MiniLM's own, on the default hybrid teacher's [0, 1]
    # scores: the only value tried (SciFact dev +0.012, benchmarks/bench_finetune_scifact.py --label)
    distill: bool = True
    teacher_temperature: float = 0.05
    gradcache_mini_batch: int | None = None  # set: CachedMultipleNegativesRankingLoss at this mini-batch (GradCache)
    gather_across_devices: bool = True  # distributed: every rank scores against all ranks' documents
    query_max_length: int = 128  # tokens; VL queries run up to ~2,000 tokens in ReasonIR, raise for LLM backbones
    document_max_length: int = 256  # tokens; all-MiniLM-L6-v2 truncates at 256 (its card: trained on 128)
    # "auto": GritLM's "<|user|>\n{instruction}\n<|embed|>\n" for LLM backbones (ReasonIR-8B); none for BERT-style
    # encoders, which are searched without instructions (see trainer.resolve_style)
    instruction_format: InstructionFormat = "auto"
    default_instruction: str = ""  # for rows without an instruction

    learning_rate: float | None = None  # None: the base model's entry (2e-5, sentence-transformers' examples)
    epochs: float = 1.0
    # None: the base model's entry; with few rows, epochs are raised until training takes this many steps
    min_steps: int | None = None
    max_epochs: float | None = None  # None: the base model's entry (MiniLM 3); the cap on what min_steps raises
    max_steps: int = -1  # > 0 overrides epochs (Hugging Face Trainer semantics)
    # WiSE-FT (Wortsman et al., 2022): after training each weight becomes (1 - merge_base) * fine-tuned + merge_base
    # * base. None: the base model's entry (all-MiniLM-L6-v2: 0.5, which kept a few hundred noisy synthesized rows
    # from costing accuracy on SciFact's dev claims; LLM backbones: 0, off). 0 keeps the fine-tuned weights.
    merge_base: float | None = None
    warmup_ratio: float = 0.1  # sentence-transformers' training examples
    weight_decay: float = 0.01  # Hugging Face Trainer's AdamW examples
    seed: int = 42
    # bf16 autocast with fp32 master weights. None: on where the device computes in bf16 natively (CUDA GPUs that
    # support it; CPUs with AVX512-BF16 or AMX, where MiniLM trained 1.64x faster and scored the same on SciFact:
    # benchmarks/bench_train_precision.py), off elsewhere, where bf16 would be emulated and slower
    bf16: bool | None = None
    gradient_checkpointing: bool = False
    lora_rank: int = 0  # > 0: LoRA adapters (peft) instead of full fine-tuning; LLM backbones
    lora_dropout: float | None = None  # None: models.bidirectional.LORA_DROPOUT (0.05); 0 saves activation memory
    max_rows: int | None = None  # cap on the mixed training set (after ratios)
    # Rows with fewer hard negatives than ``negatives_per_query`` train on in-batch negatives alone (a second
    # dataset sampled in proportion) instead of being dropped.
    keep_rows_without_negatives: bool = True
    # Label-free dev signal (reasonir.train.holdout): this share of the synthesized rows is held out, and the positive's recall@1
    # among every positive and negative text of the data is printed before and after training. 0 switches it off;
    # fewer than ``holdout_min_rows`` held-out rows switch it off too (too noisy to read).
    holdout: float = 0.1
    holdout_min_rows: int = 8

    logging_steps: int = 10
    eval_steps: int | None = None  # None: evaluate at the end of each epoch only
    save_steps: int = 100
    save_total_limit: int | None = 2
    resume: bool = False  # continue from the newest checkpoint in output_dir
    overwrite: bool = False  # allow training into a non-empty output_dir without resuming
    stop_after_steps: int | None = None  # simulate an interruption after this many steps (tests, drills)
    dataloader_num_workers: int = 0
    progress: bool = True  # the trainer's progress bar and log lines on stdout (the demo turns them off)

    def __post_init__(self) -> None:
        self.data = [d if isinstance(d, DataSource) else DataSource.parse(str(d)) for d in self.data]
        if not self.data:
            raise ValueError("at least one training file is needed")
        given = [d.ratio is not None for d in self.data]
        if any(given) and not all(given):
            raise ValueError("give a ratio for every data file or for none (e.g. a.jsonl:0.5 b.jsonl:0.5)")
        if self.temperature is not None and not 0 < self.temperature:
            raise ValueError("temperature must be positive")
        if not 0 < self.teacher_temperature:
            raise ValueError("teacher_temperature must be positive")
        if not 0 <= self.holdout < 1:
            raise ValueError("holdout must be in [0, 1)")
        if self.merge_base is not None and not 0 <= self.merge_base < 1:
            raise ValueError("merge_base must be in [0, 1)")
        if self.batch_size < 2:
            raise ValueError("batch_size must be at least 2 for in-batch negatives")
        if self.negatives_per_query < 0:
            raise ValueError("negatives_per_query must be >= 0")
        if self.gradcache_mini_batch is not None and self.gradcache_mini_batch < 1:
            raise ValueError("gradcache_mini_batch must be >= 1")

    def resolve(self, temperature: float, learning_rate: float, min_steps: int = 0, merge_base: float = 0.0,
                max_epochs: float = 0.0) -> None:
        """Fill the settings left to the base model (``None``) with that model's defaults."""
        if self.max_epochs is None:
            self.max_epochs = max_epochs
        if self.merge_base is None:
            self.merge_base = merge_base
        if self.temperature is None:
            self.temperature = temperature
        if self.learning_rate is None:
            self.learning_rate = learning_rate
        if self.min_steps is None:
            self.min_steps = min_steps

    @property
    def scale(self) -> float:
        """Logit scale of the InfoNCE loss: 1 / temperature."""
        if self.temperature is None:
            raise ValueError("temperature is unresolved: call resolve() with the base model's defaults first")
        return 1.0 / self.temperature

    @property
    def effective_negatives_per_query(self) -> int:
        """Documents each query is contrasted with on one device: batch * (1 + negatives) - 1."""
        return self.batch_size * (1 + self.negatives_per_query) - 1

    def summary(self, world_size: int = 1) -> dict[str, object]:
        """The settings that decide what is learned, as printed at the start of training."""
        gather = self.gather_across_devices and world_size > 1
        per_query = (self.batch_size * world_size if gather else self.batch_size) * (1 + self.negatives_per_query) - 1
        return {
            "batch_size_per_device": self.batch_size,
            "world_size": world_size,
            "global_batch_size": self.batch_size * world_size,
            "negatives_per_query": self.negatives_per_query,
            "effective_negatives_per_query": per_query,
            "temperature": self.temperature,
            "scale": self.scale if self.temperature else None,
            "query_max_length": self.query_max_length,
            "document_max_length": self.document_max_length,
            "gradcache_mini_batch": self.gradcache_mini_batch,
            "teacher_temperature": self.teacher_temperature if self.distill else None,
            "instruction_format": self.instruction_format,
            "learning_rate": self.learning_rate,
            "epochs": self.epochs,
            "max_steps": self.max_steps,
            "merge_base": self.merge_base,
        }

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["data"] = [str(d) for d in self.data]
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in out.items()}


@dataclass
class TrainResult:
    """Where the model went and what happened."""

    output_dir: Path
    rows_per_source: dict[str, int] = field(default_factory=dict)
    train_loss: float | None = None
    steps: int = 0
    dev_before: dict[str, float] | None = None
    dev_after: dict[str, float] | None = None
    loss_history: list[tuple[int, float]] = field(default_factory=list)
    holdout_before: float | None = None  # positive recall@1 of held-out synthesized rows (label-free dev signal)
    holdout_after: float | None = None
    holdout_rows: int = 0
    # distilled held-out rows: mean Kendall tau between student and teacher over each row's own texts
    teacher_tau_before: float | None = None
    teacher_tau_after: float | None = None
    teacher_tau_rows: int = 0
    train_seconds: float = 0.0  # wall time of the optimisation loop alone (no loading, no evaluation)
