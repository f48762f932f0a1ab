"""Rewriting through the server with the real embedded SmolLM2."""
from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from reasonir.serve import SearchService, create_app

LOCAL = "http://localhost"  # the Host a browser on this machine sends; a loopback server answers no other


def test_rewrite_returns_the_rewritten_query_and_its_compute(indexes, tmp_path):
    from reasonir.llm import LLMConfig, load_llm

    service = SearchService.from_index(indexes["bm25"],
                                       llm_factory=lambda: load_llm(LLMConfig(cache_path=str(tmp_path / "c.sqlite"))))
    with TestClient(create_app(service), base_url=LOCAL) as client:
        body = client.post("/search", json={"query": "Does vitamin D lower the risk of fractures?", "k": 3,
                                            "rewrite": True}).json()
    assert body["rewritten_query"] and body["rewritten_query"] != body["query"], body
    assert body["compute"]["rewrite"]["completion_tokens"] > 0
    assert len(body["results"]) == 3 and "stage_rewrite" in body["timings_ms"]
