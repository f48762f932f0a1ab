"""A persistent response cache: every answer an endpoint gave is kept, so a rerun costs nothing.

Keyed by ``(model, messages, sampling parameters, JSON schema)``: the things that decide an answer. The request's
``tag`` and the endpoint URL are not part of the key (the same model behind another URL answers the same).

Stored in SQLite in WAL mode: each answer is committed as soon as it arrives, so a crash loses no paid-for answer;
several processes (and threads) may read and write one file at once, SQLite does the locking.

Example:
    >>> import tempfile, os
    >>> from reasonir.llm.types import ChatRequest
    >>> cache = ResponseCache(os.path.join(tempfile.mkdtemp(), "c.sqlite"))
    >>> key = cache_key("m", ChatRequest.user("hi"))
    >>> cache.put(key, "m", {"text": "hello", "prompt_tokens": 3, "completion_tokens": 1})
    >>> cache.get(key)["text"]
    'hello'
    >>> cache.close()
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from reasonir.llm.types import ChatRequest

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    response TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def cache_key(model: str, request: ChatRequest) -> str:
    """SHA-256 of the canonical JSON of what decides the answer."""
    payload = {
        "model": model,
        "messages": [dict(m) for m in request.messages],
        "sampling": dataclasses.asdict(request.sampling),
        "schema": request.json_schema,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """Key -> raw answer (text, token counts, finish reason); JSON parsing and validation are redone on read."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # check_same_thread=False: chat_many may run on another thread; the lock serialises use of the connection
        self._db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")  # readers never block the writer; survives a crash
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process crashes
        self._db.execute(SCHEMA)

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, model: str, response: dict[str, Any]) -> None:
        blob = json.dumps(response, ensure_ascii=False)
        with self._lock:  # autocommit: the answer is on disk when put() returns
            self._db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)", (key, model, blob, time.time()))

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
