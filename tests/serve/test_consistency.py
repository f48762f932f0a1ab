"""`reasonir search`, the Python API and `reasonir serve` (a real uvicorn process on loopback) agree."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
import httpx

from reasonir.cli import main
from reasonir.data import Query
from reasonir.evaluate.runs import ranked
from reasonir.retrieve import load_index

SRC = Path(__file__).resolve().parents[2] / "src"
K = 10
RUN_CLI = "import sys; from reasonir.cli import main; sys.exit(main(sys.argv[1:]))"


def serve(index: Path, port: int, *args: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    environment = {**os.environ, "PYTHONPATH": str(SRC), **(env or {})}
    proc = subprocess.Popen([sys.executable, "-c", RUN_CLI, "serve", str(index), "--port", str(port),
                             "--log-level", "warning", *args], env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # loads MiniLM on a shared machine
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"reasonir serve exited {proc.returncode}: {proc.stderr.read()}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("reasonir serve did not answer /health in 120 s")


@pytest.mark.parametrize("kind", ["bm25", "dense"])
def test_cli_python_api_and_server_return_the_same_results(indexes, kind, capsys, queries, port,
                                                           shared_encoder_cache):
    queries = queries[:2]
    retriever = load_index(indexes[kind], **({} if kind == "bm25" else {"show_progress": False}))
    # the server reads the session's encoder verdicts too: on the machine's own, auto may pick another backend
    # (openvino and torch-bf16 probe within a few percent of each other on an AMX Xeon), whose scores differ by 1e-3
    proc, base = serve(indexes[kind], port(), env={"REASONIR_CACHE": str(shared_encoder_cache.parent)})
    try:
        for text in queries:
            api = ranked(retriever.search([Query("q", text)], k=K)["q"])
            assert main(["search", str(indexes[kind]), text, "-k", str(K), "--output", "json"]) == 0
            cli = [(r["id"], r["score"]) for r in json.loads(capsys.readouterr().out)["results"]]
            server = [(h["id"], h["score"]) for h in httpx.post(f"{base}/search", json={"query": text, "k": K},
                                                                    timeout=60).json()["results"]]
            assert len(api) == K
            assert [d for d, _ in cli] == [d for d, _ in api] == [d for d, _ in server]
            assert [s for _, s in server] == pytest.approx([s for _, s in api], abs=1e-5)
            assert [s for _, s in cli] == pytest.approx([s for _, s in api], abs=1e-5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_refuses_a_public_address_without_a_key(indexes, capsys, monkeypatch):
    monkeypatch.delenv("REASONIR_API_KEY", raising=False)
    assert main(["serve", str(indexes["bm25"]), "--host", "0.0.0.0"]) == 3
    err = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0 without an API key" in err and "REASONIR_API_KEY" in err


def test_serve_names_a_folder_that_is_not_an_index(tmp_path, capsys):
    assert main(["serve", str(tmp_path)]) == 2
    assert "not a reasonir index" in capsys.readouterr().err


def test_serve_with_a_key_from_the_environment_on_two_workers(indexes, port):
    proc, base = serve(indexes["bm25"], port(), "--workers", "2", env={"REASONIR_API_KEY": "k3y"})
    try:
        assert httpx.post(f"{base}/search", json={"query": "cancer"}).status_code == 401
        ok = httpx.post(f"{base}/search", json={"query": "cancer", "k": 3}, headers={"X-API-Key": "k3y"})
        assert ok.status_code == 200 and len(ok.json()["results"]) == 3
    finally:
        proc.terminate()
        proc.wait(timeout=30)
