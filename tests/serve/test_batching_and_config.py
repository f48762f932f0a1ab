"""Micro-batching and the server's settings, without HTTP."""
from __future__ import annotations

import asyncio
import threading

import pytest

from reasonir.serve.batching import (
    BatchPolicy, Dispatch, MicroBatcher, calibrate, calibration_sizes, decide, efficient_size,
)
from reasonir.serve.config import ServeConfig, ServeConfigError, check_bind, is_loopback
from reasonir.serve.service import snippet


def test_batches_group_by_key_keep_order_and_respect_max_batch():
    calls: list[tuple[str, list[int]]] = []
    gate = threading.Event()

    def fn(key, items):
        gate.wait(5)  # hold the first batch so the rest queue up behind it
        calls.append((key, list(items)))
        return [f"{key}{i}" for i in items]

    async def go():
        b = MicroBatcher(fn, BatchPolicy("greedy", 3, 0.0))
        first = asyncio.ensure_future(b.submit("a", 0))
        await asyncio.sleep(0.05)
        rest = [asyncio.ensure_future(b.submit("ab"[i % 2], i)) for i in range(1, 6)]
        await asyncio.sleep(0.05)
        gate.set()
        out = await asyncio.gather(first, *rest)
        await b.aclose()
        return out

    out = asyncio.run(go())
    assert [r.value for r in out] == ["a0", "b1", "a2", "b3", "a4", "b5"]
    assert calls[0] == ("a", [0])
    assert calls[1:3] == [("b", [1, 3]), ("a", [2])]  # one batch of 3 (max_batch), split by key
    assert sorted(i for _, items in calls[3:] for i in items) == [4, 5]
    assert out[1].batch_size == 2 and out[1].queue_s > 0


def test_an_error_reaches_every_request_of_its_batch_and_the_worker_survives():
    def fn(key, items):
        if key == "bad":
            raise ValueError("boom")
        return items

    async def go():
        b = MicroBatcher(fn, BatchPolicy("greedy", 8, 0.0))
        results = await asyncio.gather(b.submit("bad", 1), b.submit("bad", 2), return_exceptions=True)
        after = await b.submit("good", 3)
        await b.aclose()
        return results, after.value

    results, after = asyncio.run(go())
    assert all(isinstance(r, ValueError) for r in results) and after == 3


BOUNDED = BatchPolicy("bounded", cap=8, max_wait_s=0.004)
GREEDY = BatchPolicy("greedy", cap=64, max_wait_s=0.0)


@pytest.mark.parametrize("queued,waited,gap,expected", [
    (0, 0.0, 0.001, Dispatch(0)),  # nothing queued: wait for a query
    (1, 0.0, 0.001, Dispatch(0, 0.004)),  # a new query with more due soon waits for company, at most max_wait
    (5, 0.003, 0.0005, Dispatch(0, 0.001)),  # the rest of the oldest one's window
    (5, 0.003, 0.002, Dispatch(5)),  # the next is not due before the window closes: run now
    (1, 0.0, 0.050, Dispatch(1)),  # a lone client (one query every 50 ms): no wait at all
    (1, 0.0, None, Dispatch(1)),  # the first query a server sees: nothing to wait for
    (5, 0.004, 0.0001, Dispatch(5)),  # the oldest waited long enough: everything queued runs
    (8, 0.0, 0.0001, Dispatch(8)),  # a full batch runs at once
    (30, 0.0, 0.0001, Dispatch(8)),  # never more than the cap: the rest wait for the next batch
    (30, 1.0, 0.0001, Dispatch(8)),
])
def test_the_bounded_rule_runs_a_batch_when_full_or_when_its_oldest_query_waited_long_enough(queued, waited, gap,
                                                                                             expected):
    assert decide(BOUNDED, queued, waited, gap) == expected


@pytest.mark.parametrize("queued,expected", [(0, Dispatch(0)), (1, Dispatch(1)), (30, Dispatch(30)),
                                             (100, Dispatch(64))])
def test_the_greedy_rule_runs_everything_queued_at_once_up_to_its_cap(queued, expected):
    assert decide(GREEDY, queued, 0.0) == expected


def test_the_cap_is_the_smallest_size_within_the_slack_of_the_cheapest_per_query_cost():
    falling_then_rising = {1: 58.0, 2: 47.0, 4: 37.0, 8: 38.0, 16: 42.0, 32: 48.0, 64: 59.0}
    assert efficient_size(falling_then_rising) == 4
    assert efficient_size({1: 10.0, 2: 5.0, 4: 2.5, 8: 1.25}) == 8  # still halving: the largest measured
    assert efficient_size({1: 10.0, 2: 10.0, 4: 10.0}) == 1  # batching gains nothing: no batching
    assert efficient_size({1: 10.0, 2: 9.6}, slack=0.05) == 1 and efficient_size({1: 10.0, 2: 9.4}, slack=0.05) == 2
    assert calibration_sizes(64) == [1, 2, 4, 8, 16, 32, 64] and calibration_sizes(5) == [1, 2, 4, 5]


def test_calibration_times_each_size_and_derives_the_cap_and_the_wait_from_its_clock():
    """A clock that advances only inside ``run``, by a cost table: no real time is measured."""
    cost_ms = {1: 8.0, 2: 6.0, 4: 4.0, 8: 4.1, 16: 5.0}  # per query
    now = [0.0]
    calls: list[list[str]] = []

    def run(batch):
        calls.append(list(batch))
        slow = 3.0 if len(calls) == 2 else 1.0  # one pass disturbed by other work: the fastest repeat counts
        now[0] += slow * cost_ms[len(batch)] * len(batch) / 1000

    got = calibrate(run, ["a", "b", "c"], 16, repeats=2, clock=lambda: now[0])
    assert [len(c) for c in calls] == [1, 2, 4, 8, 16, 16, 8, 4, 2, 1]  # up, then down
    assert calls[1] == ["b", "c"] and calls[2] == ["a", "b", "c", "a"]  # the texts cycled
    assert got.seconds_per_query == pytest.approx({size: ms / 1000 for size, ms in cost_ms.items()})
    assert (got.policy.rule, got.policy.cap) == ("bounded", 4)  # 4.1 ms at 8 is within 5% of 4 ms at 4
    assert got.policy.max_wait_s == pytest.approx(0.002)  # a quarter of one query's 8 ms
    assert calibrate(run, ["a"], 2, repeats=1, max_wait_s=0.01, clock=lambda: now[0]).policy.max_wait_s == 0.01


def test_a_bounded_batcher_waits_for_company_then_runs_full_batches():
    """The worker loop under the bounded rule: queries submitted together within the wait form batches of the cap."""
    calls: list[list[int]] = []

    def fn(key, items):
        calls.append(list(items))
        return items

    async def go():
        b = MicroBatcher(fn, BatchPolicy("bounded", cap=4, max_wait_s=60.0))
        first = [asyncio.ensure_future(b.submit("k", i)) for i in range(4)]  # full: runs without waiting 60 s
        await asyncio.wait_for(asyncio.gather(*first), 30.0)
        b.policy = BatchPolicy("bounded", cap=4, max_wait_s=1.0)
        b.arrival_gap_s = 0.001  # as if queries were arriving every millisecond: more are due, so it waits
        lone = asyncio.ensure_future(b.submit("k", 9))
        await asyncio.sleep(0.05)  # the event loop wakes this before the worker's later deadline
        waiting = not lone.done()  # one query alone waits for company
        await asyncio.wait_for(lone, 30.0)  # until its window is over, then runs alone
        await b.aclose()
        return waiting

    assert asyncio.run(go())
    assert calls == [[0, 1, 2, 3], [9]]


def test_bad_batching_settings_are_refused():
    with pytest.raises(ServeConfigError, match="batching must be one of bounded, greedy"):
        ServeConfig(batching="eager")  # type: ignore[arg-type]
    with pytest.raises(ServeConfigError, match="max_wait_ms must be at least 0"):
        ServeConfig(max_wait_ms=-1)
    with pytest.raises(ValueError, match="at least 1 query"):
        BatchPolicy("bounded", 0, 0.0)


@pytest.mark.parametrize("host,loopback", [("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
                                           ("127.0.0.2", True), ("0.0.0.0", False), ("::", False),
                                           ("192.168.1.4", False), ("example.org", False)])
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_a_key_allows_any_host_and_bad_settings_are_refused():
    check_bind("0.0.0.0", api_key="k")
    check_bind("127.0.0.1", api_key=None)
    with pytest.raises(ServeConfigError, match="max_k must be at least 1"):
        ServeConfig(max_k=0)
    with pytest.raises(ServeConfigError, match="threads must be at least 1"):
        ServeConfig(threads=0)
    with pytest.raises(ServeConfigError, match="API key is empty"):
        ServeConfig(api_key=" ")


def test_snippet_is_one_line_cut_at_a_word():
    assert snippet("a\n b  c", 10) == "a b c"
    assert snippet("alpha beta gamma", 12) == "alpha beta…"
    assert snippet("x" * 20, 5) == "xxxxx…"


def test_serve_hands_workers_an_llm_config_and_its_settings_without_keys_in_the_json(indexes, monkeypatch, tmp_path):
    """`reasonir serve` builds an LLMConfig from the --llm-* flags and one Launch for its workers; the environment
    it hands them holds neither the server's key nor the LLM's in the JSON."""
    import json

    from reasonir.cli import main
    from reasonir.serve import launch as launch_module

    started = []
    monkeypatch.setattr(launch_module, "run", lambda launch, **_: started.append(launch))  # stop before uvicorn
    monkeypatch.setenv("REASONIR_API_KEY", "server-key")
    config_file = tmp_path / "llm.toml"
    config_file.write_text('api_key = "llm-key"\n')
    monkeypatch.setenv("REASONIR_LLM_CONFIG", str(config_file))
    assert main(["serve", str(indexes["bm25"]), "--port", "0", "--llm-base-url", "http://localhost:9/v1",
                 "--llm-concurrency", "3", "--allowed-hosts", "search.lan, *.lan", "--protect-docs", "open",
                 "--forwarded-allow-ips", "127.0.0.1"]) == 0
    (launch,) = started
    assert launch.llm.base_url == "http://localhost:9/v1" and launch.llm.concurrency == 3
    assert launch.llm.api_key == "llm-key" and launch.config.api_key == "server-key"
    assert launch.config.allowed_hosts == ("search.lan", "*.lan") and launch.config.protect_docs == "open"
    environ = launch.to_environ()
    assert "llm-key" not in environ[launch_module.CONFIG_ENV] and "server-key" not in environ[launch_module.CONFIG_ENV]
    assert json.loads(environ[launch_module.CONFIG_ENV])["llm"]["concurrency"] == 3
    assert launch_module.Launch.from_environ(environ) == launch
