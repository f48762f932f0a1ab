"""``auto``'s measured verdict: the rule that picks from measured rates, the kept file, and auto following it."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from reasonir.llm import engine_verdict, engines
from reasonir.llm.engine_verdict import MIN_SPEEDUP, Verdict, pick, read_verdict, verdict_path


def test_a_challenger_must_beat_the_incumbent_by_the_margin() -> None:
    assert pick({"llama-server": 2.0, "ct2": 2.0 * MIN_SPEEDUP})[0] == "ct2"
    engine, reason = pick({"llama-server": 2.0, "ct2": 2.0 * MIN_SPEEDUP * 0.99})
    assert engine == "llama-server" and "needs" in reason
    assert pick({"ct2": 1.0})[0] == "ct2"  # llama-server not built: the fastest present
    assert pick({"llama-server": 1.0})[0] == "llama-server"
    with pytest.raises(ValueError):
        pick({})


def test_auto_follows_the_kept_verdict_on_this_machine_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REASONIR_CACHE", str(tmp_path))
    monkeypatch.setattr(engine_verdict, "verdict_key", lambda: "k")
    everywhere = lambda engine: True  # noqa: E731
    table = engines.auto_engine()
    assert read_verdict() is None and engines.resolve_engine("auto", present=everywhere) == table
    assert "no verdict measured on this machine" in engines.explain_auto()[1]
    other = "ct2" if table != "ct2" else "llama-server"
    path = verdict_path("k")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(asdict(Verdict(other, "ct2 made 3.00x ...", {other: 3.0}, "2026-12-06", "k"))))
    assert engines.resolve_engine("auto", present=everywhere) == other
    assert engines.resolve_engine("llama-server", present=everywhere) == "llama-server"  # explicit stays explicit
    other_cpu = frozenset({"avx2"})  # another CPU's flags: the rule for that kind, not this machine's verdict
    assert engines.resolve_engine("auto", other_cpu, present=everywhere) == engines.auto_engine(other_cpu)
    assert engines.resolve_engine("auto", present=lambda engine: engine != other) == table  # not present here
    path.write_text("{not json")
    assert read_verdict() is None  # a broken file is no verdict


def test_the_key_changes_with_the_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    first = engine_verdict.verdict_key()
    monkeypatch.setattr(engine_verdict, "cpu_signature", lambda: "another-cpu")
    assert engine_verdict.verdict_key() != first


def test_doctor_names_the_engine_auto_picks_and_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reasonir.doctor import check_llm_config

    monkeypatch.setenv("REASONIR_CACHE", str(tmp_path))
    monkeypatch.setattr(engine_verdict, "verdict_key", lambda: "k")
    for name in [n for n in list(__import__("os").environ) if n.startswith("REASONIR_LLM_")]:
        monkeypatch.delenv(name)
    engine, why = engines.explain_auto()
    detail = check_llm_config().detail
    assert f"engine auto -> {engine}" in detail and why in detail
    path = verdict_path("k")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(asdict(Verdict(engine, "the probe said so", {engine: 1.0}, "2026-12-06", "k"))))
    assert "measured here on 2026-12-06: the probe said so" in check_llm_config().detail
