"""Third-party logs and progress bars: the CLI's long commands print their own progress lines instead."""
from __future__ import annotations

import logging
import os
from pathlib import Path


def silence_progress_bars() -> None:
    """No tqdm bars from transformers, sentence-transformers and datasets in this process (``--quiet``)."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    try:
        import datasets
        import transformers

        datasets.disable_progress_bars()
        transformers.logging.disable_progress_bar()
    except ImportError:
        pass


def quiet_third_party(log_file: Path) -> None:
    """Send transformers/sentence-transformers/datasets logs to ``log_file`` and silence their progress bars, for
    the whole process (the ``reasonir demo`` command calls it; the library leaves logging alone): the demo prints one
    line per stage and a closing table instead."""
    handler = logging.FileHandler(log_file, encoding="utf-8")
    for name in ("transformers", "sentence_transformers", "datasets", "accelerate", "httpx", "reasonir"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False
    silence_progress_bars()
