"""Every setting of an ``adapt`` run in one dataclass, read from and written to TOML.

The file a run writes (``OUT/adapt.toml``) holds every setting, defaults included, so ``reasonir adapt --config
OUT/adapt.toml`` reproduces the run; a file a user writes may hold any subset (the rest are the defaults). Sections
are the stages' own settings: ``[synth]`` (:class:`reasonir.synth.SynthConfig` and its ``[synth.hq]``,
``[synth.vl]``... tables), ``[teacher]`` (:class:`reasonir.label.TeacherConfig`), ``[train]`` (fields of
:class:`reasonir.train.TrainConfig`), ``[llm]`` (:class:`reasonir.llm.LLMConfig`, without the key).

    >>> config = AdaptConfig(corpus="docs.jsonl", seeds=200)
    >>> again = AdaptConfig.from_toml(config.to_toml())
    >>> again.seeds, again.synth.hq.candidates == config.synth.hq.candidates, again.recipes
    (200, True, ('contrastive', 'distill'))
"""
from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from reasonir.evaluate.crossfit import FOLDS
from reasonir.label.teacher import TeacherConfig
from reasonir.llm.config import LLMConfig
from reasonir.synth.config import SynthConfig

Recipe = Literal["contrastive", "distill"]


@dataclass
class AdaptConfig:
    """What ``adapt`` does to a corpus; the stages' own defaults unless set here."""

    corpus: str = ""
    seeds: int | None = None  # seed documents; None: every one, as far as ``budget_minutes`` allows
    budget_minutes: float | None = None  # None: no limit; else synthesis stops taking seeds at its share
    # labelled queries (a BEIR folder or bright:TASK) for the before/after table; None: label-free evidence only
    eval: str | None = None
    eval_split: str = "test"
    ignore_identical_ids: bool = False  # BEIR's rule, for sets whose queries are corpus documents (stacks_proofs)
    base_model: str | None = None  # None: all-MiniLM-L6-v2 (reasonir.models.DEFAULT_ENCODER)
    # trained candidates: one-hot rows (InfoNCE over in-batch and hard negatives) and rows distilled from the
    # teacher; the judge rows pick between them (reasonir.adapt.recipes)
    recipes: tuple[Recipe, ...] = ("contrastive", "distill")
    # WiSE-FT shares of the base weights mixed back into each candidate, each judged as its own encoder
    merges: tuple[float, ...] = (0.0, 0.5)
    # every encoder is also judged fused with BM25 at each of these shares of the encoder (the rest is BM25's);
    # () serves the encoder alone. On SciFact BM25 + all-MiniLM-L6-v2 at 0.5 gains +0.08 nDCG@10, on stacks_proofs
    # nothing: the judge decides per corpus
    hybrid_weights: tuple[float, ...] = (0.3, 0.5, 0.7)
    # cross-fitting: each recipe is also trained once per fold without that fold's seeds, and judged on them
    # (reasonir.evaluate.crossfit)
    folds: int = FOLDS
    synth: SynthConfig = field(default_factory=lambda: SynthConfig(judge_rows=True))  # the judge's queries
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    train: dict[str, Any] = field(default_factory=dict)  # TrainConfig fields (not data, output_dir, base_model)
    llm: LLMConfig = field(default_factory=LLMConfig)

    def __post_init__(self) -> None:
        unknown = set(self.recipes) - set(typing.get_args(Recipe))
        if unknown:
            raise ValueError(f"unknown recipe(s) {sorted(unknown)}; expected contrastive and/or distill")
        if not self.recipes:
            raise ValueError("at least one recipe is needed")
        if self.folds < 2:
            raise ValueError("folds must be at least 2 (each fold's seeds judge the copy trained without them)")
        if any(not 0 < w < 1 for w in self.hybrid_weights):
            raise ValueError("hybrid weights are the encoder's share of the fused score, in (0, 1)")
        if any(not 0 <= m < 1 for m in self.merges):
            raise ValueError("merge shares must be in [0, 1)")
        bad = {"data", "output_dir", "base_model"} & set(self.train)
        if bad:
            raise ValueError(f"[train] may not set {sorted(bad)}: adapt sets them")

    # ---- TOML ---------------------------------------------------------------------------------------------------
    @classmethod
    def from_toml(cls, text: str, *, source: str = "adapt.toml") -> AdaptConfig:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{source}: not valid TOML: {exc}") from exc
        return _build(cls, data, source)

    @classmethod
    def read(cls, path: str | Path) -> AdaptConfig:
        return cls.from_toml(Path(path).read_text(encoding="utf-8"), source=str(path))

    def to_toml(self) -> str:
        import tomli_w

        return tomli_w.dumps(_plain(self))

    def fingerprint(self) -> dict[str, Any]:
        """The settings that decide the outputs (not the time budget, which only decides how far a run gets)."""
        data = _plain(self)
        data.pop("budget_minutes", None)
        return data


def _plain(value: Any) -> Any:
    """A dataclass tree as TOML-ready values: tuples as lists, None left out (TOML has no null)."""
    if dataclasses.is_dataclass(value):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.name != "api_key"}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    """``cls`` from a TOML table: nested tables become nested dataclasses, lists become tuples where the field is
    a tuple; an unknown key names its table."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown setting(s) {unknown}; known: {sorted(fields)}")
    values = {}
    for name, value in data.items():
        kind = _dataclass_in(hints[name])
        if kind is not None and isinstance(value, dict):
            values[name] = _build(kind, value, f"{where} [{name}]")
        elif isinstance(value, list) and _is_tuple(hints[name]):
            values[name] = tuple(value)
        else:
            values[name] = value
    return cls(**values)


def _dataclass_in(hint: Any) -> type | None:
    for candidate in (hint, *typing.get_args(hint)):
        if isinstance(candidate, type) and dataclasses.is_dataclass(candidate):
            return candidate
    return None


def _is_tuple(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_is_tuple(h) for h in typing.get_args(hint))
    return origin is tuple or hint is tuple
