"""The main job on the bundled sample: ``reasonir adapt`` with sizes for a short run on 2 cores, and the labelled
queries beside it for a before/after table.

It is ``adapt`` (one code path): synthesize HQ and VL rows and the judge rows from the *documents* only (the
sample's claims never reach the LLM), train the candidate recipe (``recipes``; ``distill`` adds the teacher's
labels) and its cross-fitted copies, hand back the retriever that beats the base encoder on the judge rows (a fine-tuned encoder,
a hybrid with BM25, or the base), index it, and evaluate BM25, the base, every candidate and the served retriever
on the sample's 50 claims. SmolLM2-135M as the LLM proves the pipeline runs on a 2-core
laptop, not that the data is good: point ``--llm-base-url`` at a capable model for that. A rerun resumes (and
skips what is done); ``overwrite`` starts again.

Example::

    reasonir demo --workdir demo-output
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from reasonir.adapt import AdaptConfig, AdaptResult, adapt
from reasonir.adapt.config import Recipe
from reasonir.llm.config import LLMConfig
from reasonir.llm.types import LLM


def bundled_sample() -> Path:
    """The SciFact sample shipped with the repository (examples/scifact-sample, CC BY-NC 2.0, see its README)."""
    return Path(__file__).resolve().parents[2] / "examples" / "scifact-sample"


@dataclass
class DemoConfig:
    """``adapt``'s settings with smaller sizes, for a 2-core laptop and the 135M-parameter embedded LLM."""

    dataset: str | Path = field(default_factory=bundled_sample)
    workdir: str | Path = "demo-output"
    # seed documents; every seed's clean candidates also judge the models that never trained on it
    seeds: int = 80
    # 4 of the synthesizer's 12: on SciFact, keeping the best of 4 or of 8 made no measurable difference to the
    # fine-tuned model (benchmarks/results/sweep_finetune_scifact_round2.json), and more cost the demo minutes
    hq_candidates: int = 4
    vl_seeds: int = 6  # seed documents for VL rows (long generations: the slowest requests)
    vl_words: tuple[int, int] = (300, 600)  # the paper's range is 300-2000 words; SmolLM2's 2k window fits the short end
    # texts the teacher scores per row: 4 of the labeller's 8 keeps training within the demo's minutes
    label_candidates: int = 4
    # one recipe (each is trained four times: on every seed and once per fold): with both, the demo's train stage
    # took 40 of its 62 minutes on a loaded 2-core machine (2026-12-06), and every recipe's hybrid scored within
    # 0.008 of the others on the sample's claims (benchmarks/results/judge_sample.json)
    recipes: tuple[Recipe, ...] = ("contrastive",)
    base_model: str | None = None  # None: all-MiniLM-L6-v2 (reasonir.models.DEFAULT_ENCODER)
    llm: LLMConfig = field(default_factory=LLMConfig)  # the embedded SmolLM2 unless it names an endpoint

    def adapt_config(self) -> AdaptConfig:
        config = AdaptConfig(corpus=str(self.dataset), eval=str(self.dataset), seeds=self.seeds,
                             base_model=self.base_model, llm=self.llm,
                             # all-MiniLM-L6-v2 was trained on 128 word pieces; 128 about halves a step's cost on
                             # 2 cores, and search still reads 256
                             train={"document_max_length": 128})
        config.synth.hq.candidates = self.hq_candidates
        config.synth.vl.max_seeds, config.synth.vl.length_words = self.vl_seeds, self.vl_words
        config.teacher.candidates, config.recipes = self.label_candidates, self.recipes
        return config


def run_demo(config: DemoConfig | None = None, llm: LLM | None = None, *, overwrite: bool = False,
             log: Callable[[str], None] = print) -> AdaptResult:
    """``adapt`` on ``config.dataset``'s corpus into ``config.workdir``, evaluated on its queries; ``llm`` defaults
    to ``load_llm(config.llm)``, started only if synthesis has work left."""
    config = config or DemoConfig()
    return adapt(config.adapt_config(), config.workdir, llm, overwrite=overwrite, progress=False, log=log)
