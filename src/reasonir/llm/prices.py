"""Per-model prices (USD per 1M input and output tokens) and the cost of a job.

The shipped table (``prices.json`` beside this module) holds a few hosted models and the embedded SmolLM2 at zero.
A user's file (JSON or TOML, the same shape) is merged over it, so a user adds or corrects models without copying
the table:

    {"my-model": {"input": 0.2, "output": 0.8}}

Example:
    >>> table = default_prices()
    >>> round(table["gpt-4o-mini"].cost(1_000_000, 0), 2)
    0.15
"""
from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from reasonir.llm.errors import LLMConfigError


@dataclass(frozen=True)
class Price:
    """USD per one million prompt (``input``) and completion (``output``) tokens."""

    input: float
    output: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1_000_000


PriceTable = Mapping[str, Price]


def _parse_table(raw: Mapping[str, object], source: str) -> dict[str, Price]:
    table: dict[str, Price] = {}
    for model, entry in raw.items():
        if model.startswith("_"):  # "_source" and other comments
            continue
        try:
            table[model] = Price(float(entry["input"]), float(entry["output"]))  # type: ignore[index]
        except (TypeError, KeyError, ValueError) as exc:
            raise LLMConfigError(f"{source}: model {model!r}: expected {{'input': USD, 'output': USD}} ({exc})") from exc
    return table


def default_prices() -> dict[str, Price]:
    """The table shipped with reasonir."""
    text = resources.files("reasonir.llm").joinpath("prices.json").read_text(encoding="utf-8")
    return _parse_table(json.loads(text), "reasonir/llm/prices.json")


def load_prices(path: str | Path | None) -> dict[str, Price]:
    """The shipped table with the user's file (``.json`` or ``.toml``) merged over it."""
    table = default_prices()
    if path is None:
        return table
    path = Path(path).expanduser()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LLMConfigError(f"cannot read the price table {path}: {exc.strerror}") from exc
    try:
        raw = tomllib.loads(data.decode()) if path.suffix == ".toml" else json.loads(data)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise LLMConfigError(f"{path}: not valid {'TOML' if path.suffix == '.toml' else 'JSON'}: {exc}") from exc
    table.update(_parse_table(raw, str(path)))
    return table


def price_for(table: PriceTable, model: str) -> Price | None:
    """Exact name first, then the longest table name that prefixes ``model`` (``gpt-4o-mini-2024-07-18``)."""
    if model in table:
        return table[model]
    matches = [name for name in table if model.startswith(name)]
    return table[max(matches, key=len)] if matches else None
