"""Training rows to a sentence-transformers dataset: validate every file, mix by ratio, add instructions.

Every file is read and checked before any model is loaded, so a bad row stops the run in a second with
``file:line: field: message``. The mixture then takes ``ratio * total`` rows from each file (sampling without
replacement while a file has enough rows, whole extra passes when it must be upsampled), as ReasonIR mixes
public, VL and HQ data. Queries carry their instruction in the chosen format; documents get the matching
prefix (GritLM: ``<|embed|>\\n``). Reading and column building are the data package's
(:func:`reasonir.data.read_training_rows`, :func:`reasonir.data.to_hf_dataset`).

Example:
    >>> from reasonir.data.records import TrainingRow
    >>> ds = rows_to_dataset([TrainingRow("q1", ["p1"], ["n1"], instruction="Find it")], 1, "gritlm")
    >>> ds.column_names, ds[0]["anchor"], ds[0]["positive"]
    (['anchor', 'positive', 'negative_1'], '<|user|>\\nFind it\\n<|embed|>\\nq1', '<|embed|>\\np1')
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from reasonir.data.records import TrainingRow
from reasonir.train.config import DataSource, InstructionFormat

if TYPE_CHECKING:
    import datasets

EMBED_MARKER = "<|embed|>\n"  # same marker as reasonir.models.bidirectional (kept light: no torch import here)


def read_rows(path: str | Path) -> list[TrainingRow]:
    """All rows of one training JSONL file, each validated (DataError names file, line and field)."""
    from reasonir.data import read_training_rows

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: training file not found")
    return read_training_rows(path)


def load_sources(sources: Sequence[DataSource]) -> dict[DataSource, list[TrainingRow]]:
    """Read and validate every file (all of them, before training starts)."""
    return {source: read_rows(source.path) for source in sources}


@dataclass
class Mixture:
    rows: list[TrainingRow]
    rows_per_source: dict[str, int]
    available_per_source: dict[str, int]


def mix(loaded: dict[DataSource, list[TrainingRow]], *, seed: int = 42, max_rows: int | None = None) -> Mixture:
    """Combine sources by ratio; without ratios every row is used once. The result is shuffled.

    The total is the number of rows available (or ``max_rows``): a source with ratio r contributes
    ``round(r / sum(ratios) * total)`` rows.
    """
    rng = random.Random(seed)
    available = {str(s): len(rows) for s, rows in loaded.items()}
    total = sum(available.values())
    if max_rows is not None:
        total = min(total, max_rows)
    ratios = [s.ratio for s in loaded]
    if ratios[0] is None:
        weights = [len(rows) for rows in loaded.values()]
    else:
        weights = [float(r) for r in ratios]  # type: ignore[arg-type]
    norm = sum(weights)
    mixed: list[TrainingRow] = []
    taken: dict[str, int] = {}
    for (source, rows), weight in zip(loaded.items(), weights):
        want = round(weight / norm * total)
        picked = [rows[i] for i in range(len(rows))] * (want // len(rows))  # whole passes when upsampling
        picked += rng.sample(rows, want - len(picked))
        taken[str(source)] = len(picked)
        mixed.extend(picked)
    rng.shuffle(mixed)
    return Mixture(mixed, taken, available)


def format_query(query: str, instruction: str, style: InstructionFormat) -> str:
    """The query text the encoder sees (the data package's templates).

    >>> format_query("q", "Find proofs", "gritlm")
    '<|user|>\\nFind proofs\\n<|embed|>\\nq'
    >>> format_query("q", "Find proofs", "plain"), format_query("q", "Find proofs", "none")
    ('Find proofs q', 'q')
    """
    from reasonir.data import INSTRUCTION_FORMATS

    return INSTRUCTION_FORMATS[style].apply(instruction, query)


def format_document(text: str, style: InstructionFormat) -> str:
    return EMBED_MARKER + text if style == "gritlm" else text


def rows_to_dataset(
    rows: Sequence[TrainingRow],
    negatives_per_query: int,
    style: InstructionFormat,
    *,
    default_instruction: str = "",
) -> datasets.Dataset:
    """Columns ``anchor, positive, negative_1..n`` (the order MultipleNegativesRankingLoss reads), built by
    :func:`reasonir.data.to_hf_dataset` (first positive; rows with too few hard negatives are dropped and
    counted), with documents given the format's prefix (GritLM: ``<|embed|>\\n``).
    """
    from reasonir.data import to_hf_dataset

    if default_instruction:
        rows = [r if r.instruction else replace(r, instruction=default_instruction) for r in rows]
    enough = sum(len(r.neg) >= negatives_per_query for r in rows)
    if not enough:
        raise ValueError(f"no training row has {negatives_per_query} hard negatives; lower --negatives")
    dataset = to_hf_dataset(rows, n_negatives=negatives_per_query, instruction_format=style)
    if format_document("", style):
        documents = [c for c in dataset.column_names if c != "anchor"]
        dataset = dataset.map(lambda row: {c: format_document(row[c], style) for c in documents})
    return dataset


DISTILLED = "teacher_scores"  # the group of rows that carry a teacher's scores (reasonir.label)


def teacher_scores(row: TrainingRow) -> list[float] | None:
    """``[positive, *negatives]`` teacher scores from FlagEmbedding's ``pos_scores`` / ``neg_scores`` (kept in
    ``meta``), or None when the row has none or they do not match its texts."""
    pos, neg = row.meta.get("pos_scores"), row.meta.get("neg_scores")
    if not isinstance(pos, list) or not isinstance(neg, list) or not pos or len(neg) != len(row.neg) or not neg:
        return None
    return [float(pos[0]), *(float(v) for v in neg)]


def distilled_dataset(rows: Sequence[TrainingRow], scores: Sequence[list[float]], style: InstructionFormat, *,
                      default_instruction: str = "") -> datasets.Dataset:
    """``anchor, positive, negative_1..n, label`` for DistillKLDivLoss: every row cut to the fewest negatives any
    of them has, ``label`` the teacher's ``scores`` of the same texts (:func:`teacher_scores` of each row)."""
    n = min(len(r.neg) for r in rows)
    dataset = rows_to_dataset(rows, n, style, default_instruction=default_instruction)
    return dataset.add_column("label", [row_scores[: n + 1] for row_scores in scores])


def rows_to_datasets(
    rows: Sequence[TrainingRow],
    negatives_per_query: int,
    style: InstructionFormat,
    batch_size: int,
    *,
    keep_short: bool = True,
    default_instruction: str = "",
    distill: bool = True,
) -> dict[str, datasets.Dataset]:
    """Training groups for MultipleNegativesRankingLoss: ``with_hard_negatives`` (anchor, positive, negative_1..n)
    and, when ``keep_short``, ``in_batch_negatives_only`` (anchor, positive) for rows with fewer hard negatives, so
    they still train against the batch's other documents instead of being dropped. A group too small to fill one
    batch joins the other one (its rows lose their negatives) or, with nothing to join, is left out.

    With ``distill``, rows that carry teacher scores (see :func:`teacher_scores`) form their own group,
    ``teacher_scores``, trained by distillation instead (``reasonir.train.losses``).
    """
    out: dict[str, datasets.Dataset] = {}
    if distill:
        scores = [teacher_scores(r) for r in rows]
        scored = [(r, s) for r, s in zip(rows, scores) if s is not None]
        if len(scored) >= batch_size:
            out[DISTILLED] = distilled_dataset([r for r, _ in scored], [s for _, s in scored], style,
                                               default_instruction=default_instruction)
            rows = [r for r, s in zip(rows, scores) if s is None]
            if not rows:
                return out
    short = [r for r in rows if len(r.neg) < negatives_per_query]
    full = [r for r in rows if len(r.neg) >= negatives_per_query]
    if negatives_per_query == 0 or not keep_short:
        short, full = ([], rows) if negatives_per_query == 0 else ([], full)
    elif 0 < len(full) < batch_size:
        short, full = short + full, []
    if full:
        out["with_hard_negatives"] = rows_to_dataset(full, negatives_per_query, style,
                                                     default_instruction=default_instruction)
    if short and (len(short) >= batch_size or not (full or out)):
        out["in_batch_negatives_only"] = rows_to_dataset(short, 0, style, default_instruction=default_instruction)
    if DISTILLED in out:  # beside the distilled group, a contrastive group that cannot fill a batch is left out
        out = {name: d for name, d in out.items() if name == DISTILLED or len(d) >= batch_size}
    if not out:
        raise ValueError(f"no training row has {negatives_per_query} hard negatives; lower --negatives")
    return out
