"""The HTTP API against the real app (FastAPI's TestClient) over real BM25 and dense indexes of the sample."""
from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from reasonir.serve import SearchService, ServeConfig, create_app

LOCAL = "http://localhost"  # the Host a browser on this machine sends; a loopback server answers no other

KEY = "s3cret-key"


@pytest.fixture(scope="module")
def services(indexes):
    config = ServeConfig(max_k=50, max_query_chars=500, max_body_bytes=2048)

    class Services(dict):  # loaded on first use, like the indexes
        def __missing__(self, kind):
            self[kind] = SearchService.from_index(indexes[kind], config=config)
            return self[kind]

    return Services()


@pytest.fixture(scope="module")
def client(services):
    with TestClient(create_app(services["bm25"]), base_url=LOCAL) as c:
        yield c


@pytest.fixture(scope="module")
def keyed(indexes):
    service = SearchService.from_index(indexes["bm25"], config=ServeConfig(api_key=KEY))
    with TestClient(create_app(service), base_url=LOCAL) as c:
        yield c


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()["error"]


@pytest.mark.parametrize("kind", ["bm25", "dense"])
def test_search_returns_ranked_hits_with_titles_snippets_scores_and_timings(services, kind, queries):
    with TestClient(create_app(services[kind]), base_url=LOCAL) as c:
        r = c.post("/search", json={"query": queries[0], "k": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    hits = body["results"]
    assert [h["rank"] for h in hits] == [1, 2, 3, 4, 5]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert all(h["title"] and h["snippet"] for h in hits)
    assert all(len(h["snippet"]) <= 301 for h in hits)  # 300 characters and an ellipsis
    assert body["timings_ms"]["total"] > 0 and body["timings_ms"]["batch_size"] == 1
    assert body["rewritten_query"] is None


def test_oversized_body_is_413_whether_declared_or_chunked(client):
    big = {"query": "x" * 4000, "k": 3}
    assert error_of(client.post("/search", json=big), 413)["type"] == "body_too_large"

    def chunks():  # no Content-Length: the limit must hold while reading
        yield b'{"query": "'
        for _ in range(10):
            yield b"y" * 400
        yield b'"}'

    err = error_of(client.post("/search", content=chunks(), headers={"content-type": "application/json"}), 413)
    assert "2048 bytes" in err["message"]


@pytest.mark.parametrize("k", [0, -1, 51, 10_001])
def test_k_out_of_range_is_422_naming_k(client, k):
    err = error_of(client.post("/search", json={"query": "cancer", "k": k}), 422)
    assert err["message"].startswith("k:")


def test_query_over_the_length_limit_or_empty_is_422(client):
    assert "500" in error_of(client.post("/search", json={"query": "a " * 300}), 422)["message"]
    assert error_of(client.post("/search", json={"query": ""}), 422)["message"].startswith("query:")


def test_malformed_json_is_400_and_wrong_shapes_are_422(client):
    err = error_of(client.post("/search", content=b'{"query": "x", ', headers={"content-type": "application/json"}), 400)
    assert err["type"] == "malformed_json"
    assert error_of(client.post("/search", json={"k": 3}), 422)["message"] == "query: Field required"
    err = error_of(client.post("/search", json={"query": "x", "index": "/etc"}), 422)  # no field names a path
    assert "index" in err["message"]
    assert error_of(client.post("/search", json={"query": "x", "rerank": "magic"}), 422)["message"].startswith("rerank")


def test_unknown_route_and_method_are_json_errors(client):
    assert error_of(client.get("/nope"), 404)["message"] == "Not Found"
    assert error_of(client.get("/search"), 405)["status"] == 405


def test_api_key_missing_or_wrong_is_401_and_right_key_works(keyed):
    assert error_of(keyed.post("/search", json={"query": "cancer"}), 401)["type"] == "missing_api_key"
    r = keyed.post("/search", json={"query": "cancer"}, headers={"X-API-Key": KEY + "x"})
    assert error_of(r, 401)["type"] == "wrong_api_key"
    assert error_of(keyed.get("/metrics", headers={"X-API-Key": "nope"}), 401)["status"] == 401
    ok = keyed.post("/search", json={"query": "cancer", "k": 2}, headers={"X-API-Key": KEY})
    assert ok.status_code == 200 and len(ok.json()["results"]) == 2
    health = keyed.get("/health").json()  # open: probes need no key
    assert health["auth"] is True and health["documents"] == 600


def test_metrics_count_requests_latencies_and_errors(indexes):
    with TestClient(create_app(SearchService.from_index(indexes["bm25"])), base_url=LOCAL) as c:
        for _ in range(3):
            c.post("/search", json={"query": "cancer", "k": 3})
        c.post("/search", json={"query": "cancer", "k": 0})
        text = c.get("/metrics").text
    assert 'reasonir_http_requests_total{endpoint="/search",method="POST",status="200"} 3.0' in text
    assert 'reasonir_http_errors_total{endpoint="/search",status="422"} 1.0' in text
    assert 'reasonir_http_request_duration_seconds_count{endpoint="/search"} 4.0' in text
    assert "reasonir_search_batch_size_count 3.0" in text


def test_rag_answers_from_retrieved_documents_and_refuses_open_questions(indexes, queries):
    from reasonir.testing import ScriptedLLM

    reader = ScriptedLLM(lambda request: "Answer: (b)")
    service = SearchService.from_index(indexes["bm25"], llm_factory=lambda: reader)
    with TestClient(create_app(service), base_url=LOCAL) as c:
        r = c.post("/rag", json={"question": queries[0], "choices": ["true", "false"], "k": 2})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["letter"] == "B" and body["choice"] == "false" and len(body["retrieved_ids"]) == 2
        prompt = reader.calls[0].messages[-1]["content"]
        assert service.documents[body["context_ids"][0]].text[:40] in prompt  # the reader saw the top document
        err = error_of(c.post("/rag", json={"question": queries[0], "k": 2}), 422)
        assert "two choices" in err["message"]


def test_page_openapi_and_health(client):
    page = client.get("/")
    assert page.status_code == 200 and 'id="query"' in page.text
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    for escape in ("/static/%2e%2e/config.py", "/static-offline-docs/%2e%2e/__init__.py",
                   "/static-offline-docs/..%2f__init__.py"):  # no request reaches a file outside the bundled ones
        assert error_of(client.get(escape), 404)["message"] == "Not Found"
    assert client.get("/static-offline-docs/swagger-ui.css").status_code == 200  # /docs works offline
    spec = client.get("/openapi.json").json()
    assert {"/search", "/rag", "/health", "/metrics"} <= set(spec["paths"])
    assert client.get("/health").json()["limits"]["max_k"] == 50


def test_concurrent_queries_are_batched_and_get_their_own_results(services, queries):
    """Queued queries share one encoder call, and each gets what it would have got alone."""
    import httpx

    app = create_app(services["dense"])
    queries = queries[:12]

    async def ask_all():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=LOCAL) as c:
            together = await asyncio.gather(*(c.post("/search", json={"query": q, "k": 5}) for q in queries))
            alone = [await c.post("/search", json={"query": q, "k": 5}) for q in queries]
        return [r.json() for r in together], [r.json() for r in alone]

    together, alone = asyncio.run(ask_all())
    assert max(r["timings_ms"]["batch_size"] for r in together) > 1
    assert all(r["timings_ms"]["batch_size"] == 1 for r in alone)
    # fp32 gives a query the same scores in any batch; bf16 and int8 (what auto picks on some CPUs) round per
    # padded batch shape, which moved scores here by up to 7e-4 (within auto's tolerance of fp32)
    tolerance = 1e-5 if services["dense"].retriever.encoder_backend == "torch" else 2e-3
    for t, a, q in zip(together, alone, queries):
        assert t["query"] == q
        assert [h["id"] for h in t["results"]] == [h["id"] for h in a["results"]]
        assert [h["score"] for h in t["results"]] == pytest.approx([h["score"] for h in a["results"]], abs=tolerance)


def test_a_pipeline_with_search_detailed_reports_rewrites_compute_and_stage_timings(indexes, monkeypatch):
    """The wiring the merged pipeline relies on, with a stand-in that rewrites by appending a word."""
    from types import SimpleNamespace

    from reasonir.data import Query
    from reasonir.serve import service as service_module

    class Appending:
        def __init__(self, retriever):
            self.retriever = retriever

        def search_detailed(self, queries, k=1000):
            rewritten = [Query(q.id, q.text + " vitamin") for q in queries]
            return SimpleNamespace(run=self.retriever.search(rewritten, k=k),
                                   rewrites={q.id: q.text for q in rewritten},
                                   compute={q.id: {"rewrite": {"prompt_tokens": 7, "completion_tokens": 1,
                                                               "encoded_tokens": 0, "flops": 1.5e9}} for q in queries},
                                   seconds={"rewrite": 0.25, "retrieve": 0.5})

    monkeypatch.setattr(service_module, "_pipeline", lambda retriever, **_: Appending(retriever))
    with TestClient(create_app(SearchService.from_index(indexes["bm25"])), base_url=LOCAL) as c:
        body = c.post("/search", json={"query": "bone density", "k": 3, "rewrite": True}).json()
    assert body["rewritten_query"] == "bone density vitamin"
    assert body["compute"] == {"rewrite": {"prompt_tokens": 7, "completion_tokens": 1, "encoded_tokens": 0,
                                           "flops": 1.5e9}}
    assert body["timings_ms"]["stage_rewrite"] == 250.0 and body["timings_ms"]["stage_retrieve"] == 500.0
    assert len(body["results"]) == 3


@pytest.mark.timeout(60)
def test_the_llm_starts_once_when_a_pipeline_first_needs_it(indexes, monkeypatch):
    from reasonir.retrieve import Pipeline
    from reasonir.serve import service as service_module

    started = []
    monkeypatch.setattr(service_module, "_pipeline", lambda retriever, *, rewrite, rerank, llm, cross_encoder:
                        Pipeline(retriever) if not rewrite else (llm(), Pipeline(retriever))[1])
    service = SearchService.from_index(indexes["bm25"], llm_factory=lambda: started.append(1) or object())
    with TestClient(create_app(service), base_url=LOCAL) as c:
        assert c.post("/search", json={"query": "cancer", "k": 2}).status_code == 200
        assert started == []  # no stage needed an LLM
        for _ in range(2):
            assert c.post("/search", json={"query": "cancer", "k": 2, "rewrite": True}).status_code == 200
    assert started == [1]


def test_rag_with_the_embedded_llm_returns_a_letter_or_says_it_found_none(indexes, queries):
    from reasonir.llm import load_llm

    with load_llm() as llm:
        service = SearchService.from_index(indexes["bm25"], llm_factory=lambda: llm)
        with TestClient(create_app(service), base_url=LOCAL) as c:
            r = c.post("/rag", json={"question": queries[0], "choices": ["supported", "contradicted"], "k": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["raw_answer"] and body["error"] is None and len(body["retrieved_ids"]) == 2
    assert body["letter"] in ("A", "B", None) and (body["letter"] is not None or body["how"])
