"""The synthesizer: reasoning-intensive training data (HQ and VL) with hard negatives, from any document collection.

ReasonIR's recipe (Shao et al., 2025): seed documents judged worth reasoning about; HQ rows (the LLM analyses a seed,
then writes a scenario-based question the seed helps answer; the seed is the positive); VL rows (tasks whose
queries are long texts are brainstormed, then a query and a positive of a sampled length are written); hard
negatives written by the LLM in a further turn and mined from the corpus; filters counted in a report.

Entry points: ``synthesize(documents, llm, out_path, config) -> SynthReport`` and
``difficulty_report(rows_path, ...) -> DifficultyReport``. Prompts are data files in ``synth/prompts/``.
"""
from __future__ import annotations

from reasonir.synth.config import FilterConfig, HQConfig, NegativeConfig, SeedConfig, SynthConfig, VLConfig
from reasonir.synth.prompts import Prompts, PromptError, load_prompts
from reasonir.synth.report import SynthReport
from reasonir.synth.runner import asynthesize, state_dir, synthesize

__all__ = [
    "FilterConfig", "HQConfig", "NegativeConfig", "PromptError", "Prompts", "SeedConfig", "SynthConfig",
    "SynthReport", "VLConfig", "asynthesize", "load_prompts", "state_dir", "synthesize",
]
