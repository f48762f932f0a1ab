"""Micro-batching and the server's settings, without HTTP."""
from __future__ import annotations

import asyncio
import threading

import pytest

from reasonir.serve.batching import MicroBatcher
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
        b = MicroBatcher(fn, max_batch=3)
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
        b = MicroBatcher(fn, max_batch=8)
        results = await asyncio.gather(b.submit("bad", 1), b.submit("bad", 2), return_exceptions=True)
        after = await b.submit("good", 3)
        await b.aclose()
        return results, after.value

    results, after = asyncio.run(go())
    assert all(isinstance(r, ValueError) for r in results) and after == 3


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
