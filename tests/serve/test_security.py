"""What a hostile client or web page may not do: reach a loopback server through another name (DNS rebinding), grow
the metrics, read the OpenAPI description under a key, or slip loosely typed values past the request models."""
from __future__ import annotations

import re

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from reasonir.serve import SearchService, ServeConfig, ServeConfigError, create_app

LOCAL = "http://localhost"
KEY = "s3cret-key"


@pytest.fixture(scope="module")
def bm25(indexes):
    return SearchService.from_index(indexes["bm25"])


@pytest.fixture(scope="module")
def client(bm25):
    with TestClient(create_app(bm25), base_url=LOCAL) as c:
        yield c


@pytest.fixture(scope="module")
def keyed(bm25):
    with TestClient(create_app(bm25, ServeConfig(api_key=KEY)), base_url=LOCAL) as c:
        yield c


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()["error"]


# ---- the Host header ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/health", "/metrics", "/", "/docs"])
def test_without_a_key_a_foreign_host_header_is_refused(client, path):
    err = error_of(client.get(path, headers={"Host": "evil.example"}), 400)
    assert err["type"] == "invalid_host" and "evil.example" in err["message"]


def test_without_a_key_a_page_rebound_to_loopback_cannot_search(client):
    r = client.post("/search", json={"query": "cancer", "k": 2}, headers={"Host": "evil.example:8000"})
    assert error_of(r, 400)["type"] == "invalid_host"


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST"])
def test_loopback_names_are_answered(client, host):
    assert client.get("/health", headers={"Host": host}).status_code == 200


def test_with_a_key_any_host_is_answered_unless_allowed_hosts_narrow_it(bm25):
    with TestClient(create_app(bm25, ServeConfig(api_key=KEY)), base_url="http://search.example.org") as c:
        assert c.get("/health").status_code == 200
        assert c.post("/search", json={"query": "cancer"}).status_code == 401  # the key still guards the API
    narrowed = ServeConfig(api_key=KEY, allowed_hosts=("search.example.org", "*.lan"))
    with TestClient(create_app(bm25, narrowed), base_url="http://search.example.org") as c:
        assert c.get("/health").status_code == 200
        assert c.get("/health", headers={"Host": "box.lan"}).status_code == 200
        assert error_of(c.get("/health", headers={"Host": "evil.example"}), 400)["type"] == "invalid_host"


def test_no_redirect_is_built_from_the_host_header(keyed):
    r = keyed.post("/search/", json={"query": "x"}, headers={"Host": "evil.example", "X-API-Key": KEY},
                   follow_redirects=False)
    assert "location" not in r.headers
    assert error_of(r, 404)["type"] == "not_found"


def test_answering_any_host_without_a_key_is_refused_at_start():
    with pytest.raises(ServeConfigError, match="DNS rebinding"):
        ServeConfig(allowed_hosts=("*",))
    with pytest.raises(ServeConfigError, match="allowed host"):
        ServeConfig(allowed_hosts=("evil.*",))
    assert ServeConfig(host="127.0.0.2").trusted_hosts()[-1] == "127.0.0.2"


# ---- metrics ------------------------------------------------------------------------------------------------------

def series(metrics_text: str) -> set[str]:
    """The metric names with their labels, without values."""
    return {line.rsplit(" ", 1)[0] for line in metrics_text.splitlines() if line and not line.startswith("#")}


def test_made_up_methods_do_not_grow_the_metrics(bm25):
    with TestClient(create_app(bm25, ServeConfig(api_key=KEY)), base_url=LOCAL) as c:
        c.request("BREW", "/search")  # the first unknown method creates the "other" series
        c.get("/metrics", headers={"X-API-Key": KEY})  # and the first scrape the /metrics ones
        before = c.get("/metrics", headers={"X-API-Key": KEY}).text
        for i in range(300):
            c.request(f"M{i}", "/search")
        after = c.get("/metrics", headers={"X-API-Key": KEY}).text
    assert series(after) == series(before)
    assert abs(len(after) - len(before)) < 200  # only counts and sums changed (19 KB grew to 95 KB before)
    assert re.search(r'reasonir_http_requests_total\{endpoint="/search",method="other",status="405"\} 301\.0', after)


# ---- documentation under a key ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_under_a_key_the_api_description_needs_it_too(keyed, path):
    assert error_of(keyed.get(path), 401)["type"] == "missing_api_key"
    assert keyed.get(path, headers={"X-API-Key": KEY}).status_code == 200
    assert keyed.get("/health").json()["docs"] == "key"


def test_protect_docs_open_or_off(bm25):
    with TestClient(create_app(bm25, ServeConfig(api_key=KEY, protect_docs="open")), base_url=LOCAL) as c:
        assert c.get("/openapi.json").status_code == 200 and c.get("/docs").status_code == 200
        assert c.get("/health").json()["docs"] == "open"
        assert c.post("/search", json={"query": "x"}).status_code == 401
    with TestClient(create_app(bm25, ServeConfig(protect_docs="off")), base_url=LOCAL) as c:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert error_of(c.get(path), 404)["type"] == "not_found"


# ---- strict request bodies ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fields,field", [({"k": "5"}, "k"), ({"k": True}, "k"), ({"k": 5.0}, "k"),
                                          ({"rewrite": "yes"}, "rewrite"), ({"rewrite": 1}, "rewrite"),
                                          ({"query": 5}, "query"), ({"query": ["cancer"]}, "query")])
def test_loose_types_are_refused_not_coerced(client, fields, field):
    err = error_of(client.post("/search", json={"query": "cancer", **fields}), 422)
    assert err["type"] == "invalid_request" and err["details"][0]["field"] == field


@pytest.mark.parametrize("blank", [" ", "   \n\t", "\u3000"])
def test_a_blank_query_or_question_is_refused(client, blank):
    err = error_of(client.post("/search", json={"query": blank}), 422)
    assert err["message"] == "query: must contain more than whitespace"
    err = error_of(client.post("/rag", json={"question": blank, "choices": ["a", "b"]}), 422)
    assert err["message"].startswith("question: must contain more than whitespace")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_declared_json_is_415(client, content_type):
    headers = {"content-type": content_type} if content_type else {}
    r = client.post("/search", content=b'{"query": "cancer"}', headers=headers)
    assert error_of(r, 415)["type"] == "unsupported_media_type"


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/vnd.api+json"])
def test_json_media_types_are_read(client, content_type):
    r = client.post("/search", content=b'{"query": "cancer", "k": 2}', headers={"content-type": content_type})
    assert r.status_code == 200 and len(r.json()["results"]) == 2


def test_a_wrong_key_is_401_before_a_wrong_content_type(keyed):
    r = keyed.post("/search", content=b"query=x", headers={"content-type": "application/x-www-form-urlencoded"})
    assert error_of(r, 401)["type"] == "missing_api_key"


def test_invalid_utf8_and_deep_nesting_are_malformed_json(bm25):
    with TestClient(create_app(bm25), base_url=LOCAL) as c:  # the default body limit: 40 KB of brackets fit
        json_headers = {"content-type": "application/json"}
        err = error_of(c.post("/search", content=b'{"query": "caf\xe9"}', headers=json_headers), 400)
        assert err["type"] == "malformed_json" and "UTF-8" in err["message"]
        err = error_of(c.post("/search", content=b"[" * 20_000 + b"]" * 20_000, headers=json_headers), 400)
        assert err["type"] == "malformed_json" and "nested too deeply" in err["message"]
