"""`reasonir serve` as a user starts it (a real process, uvicorn on loopback), probed as an attacker would: another
Host, a forged X-Forwarded-For, bytes that are not HTTP; and the flags that give it a cross-encoder, HEAD, and a
port already in use found before any model loads."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
import httpx

SRC = Path(__file__).resolve().parents[2] / "src"
RUN_CLI = "import sys; from reasonir.cli import main; sys.exit(main(sys.argv[1:]))"


def command(*args: str) -> list[str]:
    return [sys.executable, "-c", RUN_CLI, "serve", *args]


def environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("REASONIR_API_KEY", None)
    return env


@pytest.fixture(scope="module")
def cross_encoder_folder(tmp_path_factory) -> Path:
    """A CrossEncoder saved the way a user would pass one: MiniLM's body with a fresh scoring head."""
    torch = pytest.importorskip("torch")
    from sentence_transformers import CrossEncoder

    from reasonir.models import resolve_model

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("cross-encoder")
    CrossEncoder(resolve_model(None), num_labels=1, max_length=128).save(str(folder))
    return folder


@pytest.fixture(scope="module")
def served(indexes, cross_encoder_folder, tmp_path_factory, port):
    """``(base_url, log_path)`` of `reasonir serve BM25_INDEX --cross-encoder FOLDER`; its log, access log on, in a
    file."""
    log_path = tmp_path_factory.mktemp("serve-log") / "serve.log"
    p = port()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command(str(indexes["bm25"]), "--port", str(p), "--log-level", "info",
                                        "--cross-encoder", str(cross_encoder_folder)),
                                env=environment(), stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{p}"
    try:
        deadline = time.monotonic() + 180  # imports torch and loads the cross-encoder on a shared machine
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"reasonir serve exited {proc.returncode}: {log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"reasonir serve did not answer: {log_path.read_text()[-2000:]}")
            time.sleep(0.3)
        yield base, log_path
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def wait_for_line(path: Path, marker: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in path.read_text().splitlines():
            if marker in line:
                return line
        time.sleep(0.1)
    raise AssertionError(f"no log line with {marker!r} in {path.read_text()[-2000:]}")


def test_the_cross_encoder_flag_gives_the_server_a_reranker(served):
    base, _ = served
    assert httpx.get(f"{base}/health").json()["features"]["rerank"] == ["none", "llm", "cross-encoder"]
    # BM25 finds 6 documents with these words, so 6 pairs are scored, not a rerank depth of 100 (minutes on a busy CPU)
    r = httpx.post(f"{base}/search", json={"query": "ADAR1 Dicer", "k": 5, "rerank": "cross-encoder"}, timeout=120)
    assert r.status_code == 200, r.text
    assert len(r.json()["results"]) == 5 and r.json()["compute"]["rerank"]["encoded_tokens"] > 0


def test_a_foreign_host_is_refused_and_never_redirected_to(served):
    base, _ = served
    r = httpx.get(f"{base}/health", headers={"Host": "evil.example"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_host"
    r = httpx.post(f"{base}/search/", json={"query": "x"}, headers={"Host": "evil.example"})
    assert r.status_code == 400 and "location" not in r.headers
    r = httpx.post(f"{base}/search/", json={"query": "x"})
    assert r.status_code == 404 and "location" not in r.headers


def test_a_forwarded_for_header_from_a_client_is_not_believed(served):
    base, log_path = served
    assert httpx.get(f"{base}/health?probe=forwarded", headers={"X-Forwarded-For": "8.8.8.8"}).status_code == 200
    line = wait_for_line(log_path, "probe=forwarded")
    assert "8.8.8.8" not in line and "127.0.0.1:" in line


def test_bytes_that_are_not_http_get_a_json_400(served):
    base, _ = served
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        raw = b""
        while chunk := sock.recv(4096):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"content-type: application/json" in head.lower()
    assert json.loads(body)["error"] == {"status": 400, "type": "malformed_request",
                                         "message": "the request is not valid HTTP/1.1"}


def test_head_health_is_answered(served):
    base, _ = served
    r = httpx.head(f"{base}/health")
    assert r.status_code == 200 and r.content == b""


def test_a_port_in_use_is_found_before_the_model_loads(indexes):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        # a model that cannot load: had the server loaded it before binding, it would fail on the model instead
        done = subprocess.run(command(str(indexes["dense"]), "--port", str(busy), "--model", "/no/such/model"),
                              env=environment(), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 3, done.stderr[-2000:]
    assert f"cannot listen on 127.0.0.1:{busy}" in done.stderr and "--port" in done.stderr
