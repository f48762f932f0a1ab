"""A batch job killed at any moment resumes: every answer appears exactly once, and no paid-for answer is lost."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from endpoints import FaultPlan, FaultyEndpoint, answer_for, llm_for

from reasonir.llm import ChatRequest, answer_to_jsonl
from reasonir.testing import ScriptedLLM

TESTS = str(Path(__file__).resolve().parents[1])  # the child process imports the test endpoints from here
ITEMS = [(f"q{i}", ChatRequest.user(f"question {i}")) for i in range(30)]
CHILD = """
import sys
sys.path.insert(0, sys.argv[4])
from reasonir.llm import ChatRequest, answer_to_jsonl
from endpoints import llm_for
url, cache, out = sys.argv[1:4]
items = [(f"q{i}", ChatRequest.user(f"question {i}")) for i in range(30)]
with llm_for(url, cache_path=cache, concurrency=2) as llm:
    answer_to_jsonl(llm, items, out)
"""


def test_process_killed_mid_job_resumes_without_duplicates_or_repaid_answers(tmp_path: Path) -> None:
    out, cache = tmp_path / "answers.jsonl", tmp_path / "c.sqlite"
    with FaultyEndpoint(FaultPlan(latency_s=0.05)) as endpoint:
        child = subprocess.Popen([sys.executable, "-c", CHILD, endpoint.base_url, str(cache), str(out), TESTS])
        deadline = time.monotonic() + 30
        while (not out.exists() or len(out.read_text().splitlines()) < 6) and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        written_before = len(out.read_text().splitlines())
        paid_before = endpoint.stats.requests
        assert 6 <= written_before < len(ITEMS)

        with llm_for(endpoint.base_url, cache_path=cache) as llm:
            counts = answer_to_jsonl(llm, ITEMS, out)
            report = llm.usage().as_dict()
        rerun_sent = endpoint.stats.requests - paid_before
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["id"] for r in rows) == sorted(i for i, _ in ITEMS)  # exactly once each
    assert all(r["text"] == answer_for(f"question {r['id'][1:]}") for r in rows)
    assert counts["skipped"] == written_before and counts["written"] == len(ITEMS) - written_before
    # answers the killed process received but had not yet written come from the cache, not the endpoint
    assert rerun_sent == len(ITEMS) - written_before - report["cache_hits"]
    assert rerun_sent + paid_before <= len(ITEMS) + 2  # at most the two requests in flight at the kill were lost


def test_torn_last_line_is_dropped_and_redone(tmp_path: Path) -> None:
    out = tmp_path / "answers.jsonl"
    out.write_text('{"id": "a", "text": "A"}\n{"id": "b", "te')  # crash in the middle of a write
    llm = ScriptedLLM(lambda r: r.messages[-1]["content"].upper())
    counts = answer_to_jsonl(llm, [("a", ChatRequest.user("a")), ("b", ChatRequest.user("b"))], out)
    assert counts == {"written": 1, "skipped": 1, "failed": 0}
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["a", "b"]


def test_unanswered_requests_are_left_for_the_next_run(tmp_path: Path) -> None:
    out = tmp_path / "answers.jsonl"
    with FaultyEndpoint(FaultPlan(server_error=1.0, faulty_attempts=2)) as endpoint:
        with llm_for(endpoint.base_url, max_retries=1) as llm:
            assert answer_to_jsonl(llm, ITEMS[:3], out) == {"written": 0, "skipped": 0, "failed": 3}
        with llm_for(endpoint.base_url, max_retries=1) as llm:  # the endpoint has recovered
            assert answer_to_jsonl(llm, ITEMS[:3], out) == {"written": 3, "skipped": 0, "failed": 0}
