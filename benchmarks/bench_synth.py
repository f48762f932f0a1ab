"""Synthesis throughput with the embedded LLM, and how much of the wall time is not spent waiting for the LLM.

Side by side in one run:
  1. ``reasonir.synth.synthesize`` on SciFact seeds with the embedded SmolLM2-135M server (no response cache);
  2. the very requests that run sent, replayed straight to the same server with ``llm.chat_many`` at the same
     concurrency: the LLM-only time of the job.
Reported: rows per minute, the share of wall time with no LLM request in flight (target < 5%), and the ratio of
the synthesis wall time to the replay's (1.0 = no overhead at all).

    .venv/bin/python benchmarks/bench_synth.py [--seeds 8] [--scifact ../shared/data/scifact]

Writes benchmarks/results/synth.json.
"""
from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

ROOT = Path(__file__).resolve().parents[1]


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
    from reasonir.synth import SynthConfig, synthesize

    documents = load_corpus(args.scifact)
    config = SynthConfig()
    config.seeds.n = args.seeds
    lo, hi = (int(x) for x in args.vl_words.split(","))
    config.vl.length_words = (lo, hi)
    llm_config = LLMConfig(cache_path="")  # every answer generated, none replayed from a cache
    with tempfile.TemporaryDirectory() as tmp, load_llm(llm_config) as llm:
        recorder = Recorder(llm)
        report = synthesize(documents, recorder, Path(tmp) / "rows.jsonl", config, progress=True)
        requests = recorder.requests
        start = time.perf_counter()
        answered = sum(1 for _ in llm.chat_many(requests))
        replay_s = time.perf_counter() - start
        concurrency = llm_config.concurrency
    result = {
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, shared 2-core CPU (load varies)",
        "llm": "SmolLM2-135M-Instruct Q4_1, llama-cpp-python server (embedded default)",
        "settings": {"seeds": args.seeds, "kinds": list(config.kinds), "vl_words": [lo, hi],
                     "negatives_written": config.negatives.written, "negatives_mined": config.negatives.mined,
                     "llm_concurrency": concurrency, "max_chains": config.max_chains},
        "rows": report.rows, "kept": dict(report.kept), "dropped": dict(report.dropped),
        "llm_requests": len(requests), "wall_s": round(report.seconds, 2),
        "setup_s": round(report.setup_seconds, 2), "llm_busy_s": round(report.llm_busy_seconds, 2),
        "rows_per_minute": round(60 * report.rows / report.seconds, 2) if report.seconds else None,
        "not_waiting_share": round(report.not_waiting_share, 4), "target_not_waiting_share": 0.05,
        "replay_llm_only_s": round(replay_s, 2), "replayed": answered,
        "wall_over_llm_only": round(report.seconds / replay_s, 3) if replay_s else None,
        "usage": report.usage,
    }
    write_results(args.out, result)
    print(report.format())
    print(f"rows/min {result['rows_per_minute']}, not waiting for the LLM {100 * result['not_waiting_share']:.1f}% "
          f"(target < 5%), synthesis wall / LLM-only replay = {result['wall_over_llm_only']}")


if __name__ == "__main__":
    main()
