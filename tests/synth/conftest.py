"""Fixtures for the synthesizer's tests: a small corpus with awkward documents and a scripted LLM."""
from __future__ import annotations

import pytest
from corpora import awkward_corpus

from reasonir.data import Document
from reasonir.testing import ScriptedLLM, scripted_answers
from reasonir.synth import SynthConfig


@pytest.fixture
def corpus() -> list[Document]:
    return awkward_corpus()


@pytest.fixture
def llm() -> ScriptedLLM:
    return ScriptedLLM(scripted_answers)


@pytest.fixture
def config() -> SynthConfig:
    cfg = SynthConfig(prompt_style="structured")  # the scripted LLM answers both styles; each test names its own
    cfg.negatives.skip_top, cfg.negatives.window = 1, 6  # a tiny corpus has no rank 21
    # BM25 and no round-trip keep unit tests of control flow fast; test_selection.py covers the dense defaults
    cfg.negatives.miner, cfg.filters.roundtrip_k = "bm25", None
    cfg.vl.length_words = (40, 80)  # scripted answers write what is asked; short keeps tests fast
    return cfg
