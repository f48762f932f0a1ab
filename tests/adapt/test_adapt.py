"""``adapt`` end to end with a scripted LLM: crashed in several stages and rerun, it reaches the same output as an
uninterrupted synthesis, never asks the LLM the same request twice, and a finished run reruns for free."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from reasonir.adapt import AdaptConfig, AdaptMismatchError, adapt
from reasonir.data import Document, read_training_rows
from reasonir.evaluate.crossfit import fold_of
from reasonir.testing import ScriptedLLM, scripted_answers
from reasonir.llm.base import BaseLLM
from reasonir.llm.cache import cache_key
from reasonir.llm.types import ChatRequest, ChatResult
from reasonir.synth import synthesize

TOPICS = ["tides", "glaciers", "compilers", "bridges", "enzymes", "markets", "volcanoes", "comets", "neurons",
          "alloys"]


class Crash(RuntimeError):
    """A simulated kill."""


class CachingLLM(BaseLLM):
    """What the response cache does for a real run: an answer once given is never asked for again; counts what
    reaches the scripted model, and can die after a number of requests."""

    def __init__(self, answers: dict[str, ChatResult], die_after: int | None = None) -> None:
        self.inner, self.answers, self.die_after, self.model = ScriptedLLM(scripted_answers), answers, die_after, \
            "scripted"
        self.asked: list[str] = []

    async def achat(self, request: ChatRequest) -> ChatResult:
        key = cache_key(self.model, request)
        if key not in self.answers:
            if self.die_after is not None and len(self.asked) >= self.die_after:
                raise Crash("killed in the middle of synthesis")
            self.asked.append(key)
            self.answers[key] = await self.inner.achat(request)
        return self.answers[key]

    def usage(self):  # noqa: ANN201 - the scripted model's own usage object
        return self.inner.usage()


def corpus_file(tmp_path: Path, n: int = 40) -> Path:
    docs = [Document(f"doc{i}", f"Note {i} on {TOPICS[i % 10]}: the mechanism of {TOPICS[i % 10]} explains how case "
                                f"{i} unfolds, step by step, with the causes and the effects a careful reader can "
                                f"follow from the first observation to the last.", title=f"{TOPICS[i % 10]} {i}")
            for i in range(n)]
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps({"_id": d.id, "title": d.title, "text": d.text}) + "\n" for d in docs))
    return path


def small_config(corpus: Path) -> AdaptConfig:
    config = AdaptConfig(corpus=str(corpus), recipes=("contrastive",), merges=(0.0, 0.5), hybrid_weights=(0.5,), folds=2,
                         train={"max_steps": 1, "batch_size": 8, "query_max_length": 32, "document_max_length": 64})
    config.synth.kinds, config.synth.prompt_style = ("hq",), "small"
    config.synth.hq.candidates, config.synth.negatives.miner = 2, "bm25"
    config.teacher.kind, config.teacher.candidates, config.teacher.pool = "bm25", 3, 5
    return config


def test_adapt_crashed_in_several_stages_resumes_to_the_output_of_an_uninterrupted_run(tmp_path: Path) -> None:
    config, out, answers = small_config(corpus_file(tmp_path)), tmp_path / "out", {}
    asked: list[str] = []
    with pytest.raises(Crash):  # 1: killed during synthesis
        llm = CachingLLM(answers, die_after=15)
        try:
            adapt(config, out, llm, progress=False, log=lambda m: None)
        finally:
            asked += llm.asked
    for stage in ("train", "index"):  # 2, 3: killed as a later stage starts
        def die(name: str, at: str = stage) -> None:
            if name == at:
                raise Crash(f"killed as {at} starts")

        llm = CachingLLM(answers)
        with pytest.raises(Crash):
            adapt(config, out, llm, progress=False, log=lambda m: None, on_stage=die)
        asked += llm.asked
    lines: list[str] = []
    llm = CachingLLM(answers)
    result = adapt(config, out, llm, progress=False, log=lines.append)
    asked += llm.asked
    assert len(asked) == len(set(asked))  # no request reached the model twice

    clean = synthesize(  # the same synthesis, never interrupted
        [Document(**{"id": d["_id"], "text": d["text"], "title": d["title"]})
         for d in map(json.loads, open(config.corpus))], ScriptedLLM(scripted_answers), tmp_path / "clean.jsonl",
        config.synth)
    rows = {r.meta["row_id"]: r for r in read_training_rows(out / "rows.jsonl")}
    assert len(rows) == clean.rows + sum(clean.judge_rows.values())  # no row lost or written twice
    assert rows == {r.meta["row_id"]: r for r in read_training_rows(tmp_path / "clean.jsonl")}
    assert any(r.is_dev for r in rows.values())
    for recipe in config.recipes:  # each fold's copy never saw that fold's seeds
        for fold in range(2):
            seen = {r.seed_id for r in read_training_rows(out / "candidates" / recipe / f"fold-{fold}.rows.jsonl")
                    if not r.is_dev}
            assert seen and not any(fold_of(s, 2) == fold for s in seen)

    report = json.loads((out / "report.json").read_text())
    train = report["stages"]["train"]["summary"]
    encoders = {"contrastive", "contrastive-merge0.5"}
    assert {c["name"] for c in train["candidates"]} == encoders | {f"{e} + bm25 (0.5)" for e in encoders | {"base"}}
    assert train["judge_queries"] == sum(r.is_dev for r in rows.values()) and train["confirm"]["detectable_change"] > 0
    assert result.chosen in {c["name"] for c in train["candidates"]} | {"base"} and report["chosen"] == result.chosen
    assert result.reason and (out / "model" / "config_sentence_transformers.json").exists()
    # the index serves what the judge chose: the encoder alone, or a hybrid with BM25 at the chosen weight
    manifest = json.loads((out / "index" / "reasonir-index.json").read_text())
    assert manifest["kind"] == train["form"]
    if train["form"] == "hybrid":
        assert manifest["weights"] == [0.5, 0.5]
    assert "Handed back" in (out / "report.md").read_text() and (out / "report.png").stat().st_size > 1000
    assert any("synthesize: done in an earlier run" in line for line in lines)
    from reasonir.serve.service import SearchService  # `reasonir serve OUT` serves the adapted index

    service = SearchService.from_index(out)
    assert service.kind == train["form"] and len(service.documents) == 40
    from reasonir.retrieve.store import lookup_documents  # and `reasonir search OUT` shows titles from it

    assert lookup_documents(out, ["doc3"])["doc3"].title.endswith(" 3")

    again: list[str] = []
    llm = CachingLLM({})  # an empty cache: any request would reach the model
    adapt(config, out, llm, progress=False, log=again.append)
    assert llm.asked == [] and sum("done in an earlier run" in line for line in again) == 3  # synthesize, train, index (no distill: no label stage)


def test_a_folder_made_with_other_settings_is_refused(tmp_path: Path) -> None:
    config = small_config(corpus_file(tmp_path, n=12))
    out = tmp_path / "out"
    out.mkdir()
    (out / "adapt.toml").write_text(config.to_toml())
    config.merges = (0.0,)
    with pytest.raises(AdaptMismatchError, match="other settings"):
        adapt(config, out, CachingLLM({}), progress=False, log=lambda m: None)


def test_a_config_file_holds_every_setting_and_unknown_keys_name_their_table(tmp_path: Path) -> None:
    config = small_config(tmp_path / "c.jsonl")
    assert AdaptConfig.from_toml(config.to_toml()) == config
    with pytest.raises(ValueError, match=r"\[synth\] \[hq\]: unknown setting\(s\) \['candidate'\]"):
        AdaptConfig.from_toml("[synth.hq]\ncandidate = 3\n", source="my.toml")
