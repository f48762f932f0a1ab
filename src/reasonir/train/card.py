"""The model card: what the model was trained on, how, and how it scored, beside the weights.

sentence-transformers already writes ``README.md`` (architecture, loss, hyperparameters, usage). reasonir adds
``reasonir_training.json`` (machine-readable) and a "Training with reasonir" section at the top of the README.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reasonir.data.atomic import atomic_open

SUMMARY_FILE = "reasonir_training.json"
CARD_FILE = "README.md"


def _atomic_write(path: Path, text: str) -> None:
    with atomic_open(path, overwrite=True) as fh:  # the card is rewritten in place on every save
        fh.write(text)


def _metrics_line(scores: dict[str, float] | None) -> str:
    if not scores:
        return "not evaluated"
    return ", ".join(f"{k} {v:.4f}" for k, v in scores.items())


def card_section(summary: dict[str, Any]) -> str:
    """Markdown for the summary (data files and counts, settings that matter, dev scores before and after)."""
    s = summary["settings"]
    lines = [
        "## Training with reasonir",
        "",
        f"Base model: `{summary['base_model']}`. Trained with `reasonir train` (InfoNCE with in-batch and hard negatives,"
        f" temperature {s['temperature']}, normalized embeddings) for {summary['steps']} steps.",
        "",
        "| data file | rows available | rows used |",
        "|---|---|---|",
    ]
    for name, used in summary["rows_per_source"].items():
        lines.append(f"| `{name}` | {summary['available_per_source'].get(name, '?')} | {used} |")
    lines += ["", "| setting | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in s.items()]
    lines += [
        "",
        f"Instruction format: {summary['instruction_format']} (query prompt `{summary['query_prompt']!r}`,"
        f" document prompt `{summary['document_prompt']!r}`).",
        "",
        f"Dev set: {summary.get('dev') or 'none'}.",
        f"- before training: {_metrics_line(summary.get('dev_before'))}",
        f"- after training: {_metrics_line(summary.get('dev_after'))}",
        "",
        f"Final training loss: {summary.get('train_loss')}. Full record: `{SUMMARY_FILE}`.",
        "",
    ]
    return "\n".join(lines)


def write_card(model_dir: str | Path, summary: dict[str, Any]) -> Path:
    """Write ``reasonir_training.json`` and put the reasonir section at the top of ``README.md``."""
    model_dir = Path(model_dir)
    readme = model_dir / CARD_FILE
    existing = readme.read_text(encoding="utf-8") if readme.exists() else ""
    section = card_section(summary)
    if existing.startswith("---"):  # keep the YAML front matter first, as the hub expects
        end = existing.find("\n---", 3)
        head, body = existing[: end + 4], existing[end + 4 :]
        text = f"{head}\n\n{section}\n{body}"
    else:
        text = f"{section}\n{existing}"
    _atomic_write(readme, text)
    _atomic_write(model_dir / SUMMARY_FILE, json.dumps(summary, indent=2, default=str) + "\n")
    return readme


def read_summary(model_dir: str | Path) -> dict[str, Any]:
    """The training record of a model folder written by ``reasonir train``."""
    return json.loads((Path(model_dir) / SUMMARY_FILE).read_text(encoding="utf-8"))
