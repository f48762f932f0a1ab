"""Your own corpus in one call: synthesize -> label -> train -> index (-> evaluate), resumable, with a report.

    >>> from reasonir.adapt import AdaptConfig
    >>> AdaptConfig(corpus="docs.jsonl").recipes
    ('contrastive', 'distill')

See :mod:`reasonir.adapt.pipeline` for the stages and :mod:`reasonir.adapt.recipes` for how a model is chosen.
"""
from __future__ import annotations

from reasonir.adapt.config import AdaptConfig
from reasonir.adapt.pipeline import AdaptMismatchError, AdaptResult, adapt

__all__ = ["AdaptConfig", "AdaptMismatchError", "AdaptResult", "adapt"]
