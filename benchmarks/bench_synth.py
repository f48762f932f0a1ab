"""Synthesis throughput with the embedded LLM, and how much of the wall time is not spent waiting for the LLM.

Side by side in one run:
  1. ``reasonir.synth.asynthesize`` on SciFact seeds with the embedded SmolLM2-135M server (no response cache);
  2. the very requests that run sent, replayed straight to the same server with ``llm.chat_many`` at the same
     concurrency: the LLM-only time of the job.
Reported: rows per minute; the pipeline's own work, seen two ways: the time the event loop was blocked by it after
setup (a 5 ms heartbeat's lateness: while the loop is busy filtering or parsing, or a ranking thread holds the GIL,
no LLM request can be sent or answered; target < 5% of wall time; the lateness during setup, before the first
request, is reported apart) and the CPU time of the synthesizing process (the LLM server is another
process); and the ratio of the synthesis wall time to the replay's (1.0 = no overhead at all). The share of wall
time with no LLM request in flight is kept for comparison, but it cannot see the pipeline's work: any moment
with a request in flight counts as LLM time, even while the loop is busy.

    .venv/bin/python benchmarks/bench_synth.py [--seeds 8] [--scifact ../shared/data/scifact]

Writes benchmarks/results/synth.json.
"""
from __future__ import annotations

import argparse
import asyncio
import platform
import resource
import tempfile
import time
from pathlib import Path

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

ROOT = Path(__file__).resolve().parents[1]


class LoopLag:
    """Records how late a ``period``-second heartbeat wakes up: time the event loop spent on other work, or waiting
    for the GIL while a thread (the ranker's encoder) held it. ``blocked_after(t)`` sums the lateness after ``t``."""

    def __init__(self, period: float = 0.005) -> None:
        self.period, self.samples, self._task = period, [], None

    async def _beat(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(self.period)
            now = time.perf_counter()
            self.samples.append((now, max(0.0, now - start - self.period)))

    def blocked_after(self, t: float = 0.0) -> float:
        return sum(lag for at, lag in self.samples if at > t)

    def __enter__(self) -> "LoopLag":
        self._task = asyncio.get_running_loop().create_task(self._beat())
        return self

    def __exit__(self, *exc) -> None:
        self._task.cancel()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # this process and its threads, not the LLM server
    return usage.ru_utime + usage.ru_stime


async def timed_synthesis(documents, llm, out: Path, config):
    """The report, the loop lag during setup and after it (while requests flow), and the process's CPU seconds."""
    from reasonir.synth import asynthesize

    cpu, start = cpu_seconds(), time.perf_counter()
    with LoopLag() as lag:
        report = await asynthesize(documents, llm, out, config, progress=False)
    setup_end = start + report.setup_seconds
    after = lag.blocked_after(setup_end)
    return report, lag.blocked_after() - after, after, cpu_seconds() - cpu


class Recorder:
    """Forwards to an LLM and keeps every request it sends (after the synthesizer fitted it to the window)."""

    def __init__(self, llm) -> None:
        self._llm, self.requests = llm, []

    def __getattr__(self, name):
        return getattr(self._llm, name)

    async def achat(self, request):
        self.requests.append(request)
        return await self._llm.achat(request)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--scifact", default=str(ROOT.parent / "shared" / "data" / "scifact"))
    parser.add_argument("--vl-words", default="100,300", help="VL length range for the run (default 100,300)")
    parser.add_argument("--out", default=str(RESULTS_DIR / "synth.json"))
    args = parser.parse_args()

    from reasonir.data import load_corpus
    from reasonir.llm import LLMConfig, load_llm
    from reasonir.synth import SynthConfig

    documents = load_corpus(args.scifact)
    config = SynthConfig()
    config.seeds.n = args.seeds
    lo, hi = (int(x) for x in args.vl_words.split(","))
    config.vl.length_words = (lo, hi)
    llm_config = LLMConfig(cache_path="")  # every answer generated, none replayed from a cache
    with tempfile.TemporaryDirectory() as tmp, load_llm(llm_config) as llm:
        recorder = Recorder(llm)
        report, setup_blocked_s, loop_blocked_s, pipeline_cpu_s = asyncio.run(
            timed_synthesis(documents, recorder, Path(tmp) / "rows.jsonl", config))
        requests = recorder.requests
        start = time.perf_counter()
        answered = sum(1 for _ in llm.chat_many(requests))
        replay_s = time.perf_counter() - start
        concurrency = llm_config.concurrency
        engine = getattr(llm, "engine", None) or llm_config.embedded_engine
    result = {
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, shared 2-core CPU (load varies)",
        "llm": f"SmolLM2-135M-Instruct, embedded server (engine setting: {engine})",
        "settings": {"seeds": args.seeds, "kinds": list(config.kinds), "vl_words": [lo, hi],
                     "negatives_written": config.negatives.written, "negatives_mined": config.negatives.mined,
                     "llm_concurrency": concurrency, "max_chains": config.max_chains},
        "rows": report.rows, "kept": dict(report.kept), "dropped": dict(report.dropped),
        "llm_requests": len(requests), "wall_s": round(report.seconds, 2),
        "setup_s": round(report.setup_seconds, 2), "llm_busy_s": round(report.llm_busy_seconds, 2),
        "rows_per_minute": round(60 * report.rows / report.seconds, 2) if report.seconds else None,
        "loop_blocked_during_setup_s": round(setup_blocked_s, 2),
        "loop_blocked_s": round(loop_blocked_s, 2),  # after setup, while requests flow
        "loop_blocked_share": round(loop_blocked_s / report.seconds, 4) if report.seconds else None,
        "target_loop_blocked_share": 0.05,
        "pipeline_cpu_s": round(pipeline_cpu_s, 2),
        "pipeline_cpu_share": round(pipeline_cpu_s / report.seconds, 4) if report.seconds else None,
        "no_request_in_flight_share": round(report.not_waiting_share, 4),
        "replay_llm_only_s": round(replay_s, 2), "replayed": answered,
        "wall_over_llm_only": round(report.seconds / replay_s, 3) if replay_s else None,
        "usage": report.usage,
    }
    write_results(args.out, result)
    print(report.format())
    print(f"rows/min {result['rows_per_minute']}; event loop blocked by the pipeline after setup "
          f"{100 * (result['loop_blocked_share'] or 0):.1f}% of wall time (target < 5%; during setup "
          f"{result['loop_blocked_during_setup_s']} s), its process CPU "
          f"{result['pipeline_cpu_s']} s; no request in flight {100 * result['no_request_in_flight_share']:.1f}%; "
          f"synthesis wall / LLM-only replay = {result['wall_over_llm_only']}")


if __name__ == "__main__":
    main()
