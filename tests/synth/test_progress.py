"""Progress lines for logs: cadence, counts, rate and time left, driven by a hand-moved clock (no sleeps)."""
from __future__ import annotations

import io

from reasonir.synth import synthesize
from reasonir.synth import progress as progress_mod
from reasonir.synth.progress import ProgressLine, is_terminal


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_line_at_most_every_30_s_with_rate_and_time_left():
    clock, lines = FakeClock(), []
    p = ProgressLine(total=10, write=lines.append, clock=clock)
    clock.now += 10
    p.seed_done(kept=1)
    assert lines == []  # not due yet
    clock.now += 20
    p.seed_done(kept=2)  # 30 s in: 2 seeds, 3 rows
    assert lines == ["synthesizing: 2/10 seeds, 3 rows kept, 6.0 rows/min, about 2 min left"]
    clock.now += 5
    p.seed_done(kept=0)
    assert len(lines) == 1  # 5 s after the last line
    clock.now += 85  # 120 s in, 4 seeds: 6 left at 30 s each
    p.seed_done(kept=1)
    assert lines[-1] == "synthesizing: 4/10 seeds, 4 rows kept, 2.0 rows/min, about 3 min left"
    p.close()
    p.close()
    assert len(lines) == 3  # the closing line, once


def test_a_resumed_job_counts_earlier_seeds_but_not_in_its_rate():
    clock, lines = FakeClock(), []
    p = ProgressLine(total=6, write=lines.append, done=4, clock=clock)
    clock.now += 60
    p.seed_done(kept=1)
    p.seed_done(kept=1)
    p.close()
    assert lines == ["synthesizing: 5/6 seeds, 1 rows kept, 1.0 rows/min, about 60 s left",
                     "synthesizing: 6/6 seeds, 2 rows kept, 2.0 rows/min, done in 60 s"]


def test_before_any_seed_the_time_left_is_not_guessed():
    clock = FakeClock()
    p = ProgressLine(total=3, write=lambda line: None, clock=clock)
    clock.now += 45
    assert p.line().endswith("time left not known yet")


def test_a_pipe_is_not_a_terminal():
    assert not is_terminal(io.StringIO())


def test_synthesize_writes_lines_when_the_output_is_not_a_terminal(corpus, llm, config, tmp_path, monkeypatch,
                                                                    capsys):
    clock = FakeClock()

    def ticking() -> float:  # every reading moves the run on by 20 s: a line every other seed
        clock.now += 20
        return clock.now

    monkeypatch.setattr(progress_mod, "now", ticking)
    config.kinds = ("hq",)
    report = synthesize(corpus, llm, tmp_path / "rows.jsonl", config, progress=True)  # pytest's stderr: no tty
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("synthesizing:")]
    seeds = report.seeds.selected
    assert len(lines) >= seeds // 2
    assert lines[-1].startswith(f"synthesizing: {seeds}/{seeds} seeds, {report.kept['hq']} rows kept")
    assert "done in" in lines[-1] and "about" in lines[0] and "rows/min" in lines[0]


def test_progress_log_takes_the_lines_without_a_bar(corpus, llm, config, tmp_path):
    config.kinds = ("hq",)
    lines: list[str] = []
    synthesize(corpus, llm, tmp_path / "rows.jsonl", config, progress=False, progress_log=lines.append)
    assert len(lines) == 1 and "11/11 seeds" in lines[0]  # a fast run: only the closing line
