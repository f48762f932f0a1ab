"""Real indexes of the bundled SciFact sample, built once per test session, and a real server.

BM25 indexes all 600 abstracts; the dense index encodes the first 200 with the real all-MiniLM-L6-v2 (its
embedding cache lives in the session's temporary folder, so tests never touch the user's cache).
"""
from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "scifact-sample"
DENSE_DOCS = 200


@pytest.fixture(scope="session")
def queries() -> list[str]:
    """The sample's claims, in file order."""
    with open(SAMPLE / "queries.jsonl", encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh]


class _Indexes(dict):
    """Builds each kind on first use, so a test session that only needs BM25 never loads the encoder."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def __missing__(self, kind: str) -> Path:
        from reasonir.data import load_corpus
        from reasonir.retrieve import make_retriever

        docs = load_corpus(SAMPLE)
        if kind == "bm25":
            make_retriever("bm25").index(docs).save(self.root / kind)
        elif kind == "dense":  # the first DENSE_DOCS abstracts: all 600 take about a minute to encode on 2 cores
            retriever = make_retriever("dense", cache_dir=self.root / "embeddings", show_progress=False)
            retriever.index(docs[:DENSE_DOCS]).save(self.root / kind)
        else:
            raise KeyError(kind)
        self[kind] = self.root / kind
        return self[kind]


@pytest.fixture(scope="session")
def indexes(tmp_path_factory) -> dict[str, Path]:
    """{"bm25": folder, "dense": folder} over the sample corpus, saved the way `reasonir index` saves them."""
    return _Indexes(tmp_path_factory.mktemp("indexes"))


@pytest.fixture(scope="session")
def server():
    """``server(app)``: a context manager running ``app`` under a real uvicorn on loopback; yields its URL."""
    return running_server


@pytest.fixture(scope="session")
def port():
    """``port()``: a free loopback port."""
    return free_port


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(app, port: int | None = None):
    """A real uvicorn server on loopback in a background thread, with the settings `reasonir serve` gives uvicorn
    (its JSON 400s, no forwarded headers believed); yields its base URL."""
    import uvicorn

    from reasonir.serve import ServeConfig, uvicorn_settings

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, **uvicorn_settings(ServeConfig(port=port), log_level="warning")))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
