"""The response cache (keying, persistence across processes and crashes), backoff delays and the usage report."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from pathlib import Path

from reasonir.llm import ChatRequest, ResponseCache, Sampling, cache_key
from reasonir.testing import ScriptedLLM
from reasonir.llm.prices import Price
from reasonir.llm.retry import RetryPolicy, parse_retry_after, retry_after_from
from reasonir.llm.usage import UsageReport

SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}


def test_cache_key_covers_model_messages_sampling_and_schema_but_not_tag() -> None:
    base = ChatRequest.user("q")
    key = cache_key("m", base)
    assert cache_key("m", ChatRequest.user("q", tag="other")) == key
    assert len({key, cache_key("m2", base), cache_key("m", ChatRequest.user("q2")),
                cache_key("m", ChatRequest.user("q", sampling=Sampling(temperature=0.7))),
                cache_key("m", ChatRequest.user("q", json_schema=SCHEMA))}) == 5


def test_cache_shared_across_processes_and_survives_a_kill(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    writer = (
        "import sys, time\n"
        "from reasonir.llm import ResponseCache\n"
        f"c = ResponseCache({str(path)!r})\n"
        "for i in range(50):\n"
        "    c.put(f'k{i}', 'm', {'text': str(i)})\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        reader = ResponseCache(path)  # a second process reads while the writer is alive
        assert reader.get("k49") == {"text": "49"}
        os.kill(proc.pid, signal.SIGKILL)  # no close(), no clean exit
        proc.wait()
        reader.put("k50", "m", {"text": "50"})
        assert len(reader) == 51
        reader.close()
        assert ResponseCache(path).get("k0") == {"text": "0"}
    finally:
        if proc.poll() is None:
            proc.kill()


def test_backoff_grows_with_jitter_and_retry_after_wins() -> None:
    policy = RetryPolicy(max_retries=5, base_s=0.5, max_s=4.0)
    for attempt, ceiling in enumerate([0.5, 1.0, 2.0, 4.0, 4.0]):
        delays = {policy.delay(attempt) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays) and len(delays) > 1
    assert policy.delay(3, retry_after="0.25") == 0.25
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 25 < (parse_retry_after(later) or 0) <= 30
    assert parse_retry_after("soon") is None
    assert retry_after_from({"retry-after-ms": "1500", "retry-after": "9"}) == "1.5"


def test_usage_report_per_tag_and_model_with_cost() -> None:
    report = UsageReport(prices={"big": Price(2.0, 8.0)})
    report.record_answer("big", "hq", prompt_tokens=500_000, completion_tokens=100_000)
    report.record_answer("big", "hq", prompt_tokens=500_000, completion_tokens=100_000, cached=True)
    report.record_retry("big", "hq", "timeout")
    report.record_failure("big", "vl", "retries_exhausted")
    d = report.as_dict()
    assert (d["requests"], d["cache_hits"], d["retries_by_cause"], d["failures"]) == (3, 1, {"timeout": 1}, 1)
    assert d["cost_usd"] == 2 * 0.5 + 8 * 0.1  # the cached answer costs nothing
    assert d["by_tag"]["hq"]["requests"] == 2 and d["by_tag"]["vl"]["failures_by_kind"] == {"retries_exhausted": 1}
    assert "$1.8000" in report.format()
    unpriced = UsageReport()
    unpriced.record_answer("mystery", "", prompt_tokens=1)
    assert unpriced.cost() is None and "cost unknown" in unpriced.format()


def test_scripted_llm_validates_and_counts_like_a_real_backend() -> None:
    llm = ScriptedLLM(lambda r: "sure: {\"a\": 1}" if "good" in r.messages[-1]["content"] else '{"b": 2}')
    results = dict(llm.chat_many([ChatRequest.user("good", json_schema=SCHEMA, tag="t"),
                                  ChatRequest.user("bad", json_schema=SCHEMA, tag="t")]))
    assert results[0].parsed == {"a": 1} and results[0].ok
    assert not results[1].ok and results[1].error.startswith("schema:")  # type: ignore[union-attr]
    assert llm.usage().as_dict()["failures_by_kind"] == {"schema": 1} and llm.usage().requests == 2
