"""Cross-encoder reranking, what /health offers, whole documents, HEAD, the favicon, and how a crash is answered."""
from __future__ import annotations

import logging

import pytest

pytest.importorskip("fastapi")
import httpx
from fastapi.testclient import TestClient

from reasonir.serve import SearchService, ServeConfig, create_app

LOCAL = "http://localhost"
KEY = "s3cret-key"


@pytest.fixture(scope="module")
def cross_encoder():
    """all-MiniLM-L6-v2's body with a fresh scoring head: a real CrossEncoder (the plumbing, not the quality)."""
    torch = pytest.importorskip("torch")
    from sentence_transformers import CrossEncoder

    from reasonir.models import resolve_model

    torch.manual_seed(0)
    return CrossEncoder(resolve_model(None), num_labels=1, max_length=128)


@pytest.fixture(scope="module")
def bm25(indexes):
    return SearchService.from_index(indexes["bm25"])


@pytest.fixture(scope="module")
def client(bm25):
    with TestClient(create_app(bm25), base_url=LOCAL) as c:
        yield c


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()["error"]


def test_cross_encoder_reranking_without_a_model_is_501_naming_the_flag(client):
    err = error_of(client.post("/search", json={"query": "cancer", "rerank": "cross-encoder"}), 501)
    assert err["type"] == "not_implemented" and "--cross-encoder" in err["message"]
    health = client.get("/health").json()
    assert health["features"] == {"rewrite": False, "rerank": ["none"], "rag": False}
    assert health["docs"] == "open"  # no key: nothing to protect them with


def test_cross_encoder_reranking_with_a_model_reorders_and_reports_its_compute(indexes, cross_encoder):
    service = SearchService.from_index(indexes["bm25"], cross_encoder=cross_encoder)
    query = "ADAR1 Dicer"  # 6 documents hold these words: 6 pairs to score, not a rerank depth of 100
    with TestClient(create_app(service), base_url=LOCAL) as c:
        plain = c.post("/search", json={"query": query, "k": 5}).json()
        r = c.post("/search", json={"query": query, "k": 5, "rerank": "cross-encoder"})
        features = c.get("/health").json()["features"]
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["results"]) == 5 and "stage_rerank" in body["timings_ms"]
    assert body["compute"]["rerank"]["encoded_tokens"] > 0 and body["compute"]["rerank"]["flops"] > 0
    # scores are the blend of the cross-encoder's and BM25's, so they differ from BM25's alone
    assert [h["score"] for h in body["results"]] != [h["score"] for h in plain["results"]]
    assert features["rerank"] == ["none", "cross-encoder"]


def test_health_offers_llm_stages_only_with_an_llm(indexes):
    service = SearchService.from_index(indexes["bm25"], llm_factory=lambda: None)  # never called by /health
    with TestClient(create_app(service), base_url=LOCAL) as c:
        assert c.get("/health").json()["features"] == {"rewrite": True, "rerank": ["none", "llm"], "rag": True}


def test_a_document_opens_whole_under_the_same_key_rules(bm25):
    doc_id, doc = next(iter(bm25.documents.items()))
    with TestClient(create_app(bm25, ServeConfig(api_key=KEY)), base_url=LOCAL) as c:
        assert error_of(c.get(f"/documents/{doc_id}"), 401)["type"] == "missing_api_key"
        r = c.get(f"/documents/{doc_id}", headers={"X-API-Key": KEY})
        assert r.status_code == 200 and r.json() == {"id": doc_id, "title": doc.title, "text": doc.text}
        err = error_of(c.get("/documents/no-such-id", headers={"X-API-Key": KEY}), 404)
        assert err["type"] == "not_found" and "no-such-id" in err["message"]
    assert len(doc.text) > 300  # longer than a snippet: the view shows what the result list cuts


@pytest.mark.parametrize("path", ["/health", "/", "/static/app.js", "/favicon.ico", "/docs"])
def test_head_is_answered_wherever_get_is(client, path):
    get, head = client.get(path), client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b"" and head.headers["content-type"] == get.headers["content-type"]


def test_head_keeps_the_key_check(bm25):
    with TestClient(create_app(bm25, ServeConfig(api_key=KEY)), base_url=LOCAL) as c:
        assert c.head("/metrics").status_code == 401
        assert c.head("/metrics", headers={"X-API-Key": KEY}).status_code == 200


def test_the_favicon_is_served(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml") and b"<svg" in r.content


def test_a_crash_is_json_and_its_traceback_logged_once(indexes, server, monkeypatch, caplog):
    from reasonir.serve import service as service_module

    def broken(retriever, **_):
        raise ValueError("a pipeline that cannot be built")

    app = create_app(SearchService.from_index(indexes["bm25"]))
    monkeypatch.setattr(service_module, "_pipeline", broken)  # for pipelines built from now on: rewrite's
    uvicorn_log = logging.getLogger("uvicorn")
    try:
        with server(app) as base:
            uvicorn_log.addHandler(caplog.handler)  # uvicorn's loggers do not propagate to the root, caplog's home
            r = httpx.post(f"{base}/search", json={"query": "cancer", "k": 2, "rewrite": True}, timeout=30)
    finally:  # after the server stopped: it logs the traceback once the answer is sent
        uvicorn_log.removeHandler(caplog.handler)
    assert error_of(r, 500) == {"status": 500, "type": "internal_error",
                                "message": "the server failed to answer (ValueError); see its log"}
    tracebacks = [rec for rec in caplog.records if rec.exc_info]
    assert len(tracebacks) == 1, [rec.getMessage() for rec in tracebacks]
