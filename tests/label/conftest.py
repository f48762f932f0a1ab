"""Fixtures for the label stage's tests: the synthesizer's small corpus with awkward documents."""
from __future__ import annotations

import pytest
from corpora import awkward_corpus

from reasonir.data import Document


@pytest.fixture
def corpus() -> list[Document]:
    return awkward_corpus()
