"""A real browser (Debian's chromium, headless, driven by Playwright) searches from the web page."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

pytest.importorskip("fastapi")
import httpx

from reasonir.serve import SearchService, ServeConfig, create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def browser_or_skip():
    if not CHROMIUM.exists():
        pytest.skip(f"needs Debian's chromium at {CHROMIUM}: apt-get install -y chromium (make install does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("needs playwright: pip install playwright (in the test extra; its own browsers are not used)")
    return sync_playwright


def launch(p):
    return p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def failed_responses(page) -> list[str]:
    """Every response of 400 or more the page receives (a missing favicon would be one), as "STATUS PATH"."""
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url.split('/', 3)[-1]}") if r.status >= 400 else None)
    return failed


def test_typing_a_query_shows_the_results_the_api_returns(indexes, tmp_path, queries, server):
    sync_playwright = browser_or_skip()
    query, second = queries[1], queries[2]  # the first's evidence abstract is among the dense index's documents
    app = create_app(SearchService.from_index(indexes["dense"]))
    with server(app) as base:
        expected = httpx.post(f"{base}/search", json={"query": query, "k": 5}).json()["results"]
        expected_second = httpx.post(f"{base}/search", json={"query": second, "k": 5}).json()["results"]
        top_document = httpx.get(f"{base}/documents/{expected_second[0]['id']}").json()
        documents = httpx.get(f"{base}/health").json()["documents"]
        with sync_playwright() as p:
            browser = launch(p)
            try:
                page = browser.new_page(viewport={"width": 1100, "height": 900})
                failed = failed_responses(page)
                page.goto(base)
                page.wait_for_function("document.getElementById('index-info').textContent.includes('documents')")
                assert page.inner_text("#index-info") == f"{documents} documents · dense index"
                assert page.is_hidden("#rerank-label") and page.is_hidden("#rewrite-label")  # no reranker, no LLM
                assert page.is_visible("#docs-links")  # no key: /docs opens
                page.fill("#k", "5")
                page.fill("#query", query)
                page.press("#query", "Enter")
                page.wait_for_selector("#results li.result")
                titles = page.locator("#results .title").all_inner_texts()
                scores = page.locator("#results .score").all_inner_texts()
                ids = page.locator("#results .doc-id").all_inner_texts()
                timings = page.inner_text("#timings")
                page.screenshot(path=str(tmp_path / "search.png"), full_page=True)

                page.fill("#query", "word " * 2000)  # over max_query_chars: the server's message reaches the page
                page.click("#search-button")
                page.wait_for_selector("#error:not([hidden])")
                error = page.inner_text("#error")
                # the first query's results and timings went with the error
                assert (page.locator("#results li").count(), page.is_visible("#summary")) == (0, False)

                page.fill("#query", second)  # then a good query: the banner goes, the new results come
                page.click("#search-button")
                page.wait_for_selector("#results li.result")
                after_error = (page.is_hidden("#error"), page.locator("#results .doc-id").all_inner_texts(),
                               page.is_hidden("#status"))

                page.click("#results li.result a.title >> nth=0")  # the whole document, in a dialog
                page.wait_for_function("document.getElementById('document-text').textContent.length > 0")
                dialog = (page.is_visible("#document"), page.inner_text("#document-title"),
                          page.text_content("#document-text"))
                page.screenshot(path=str(tmp_path / "document.png"), full_page=True)
                page.click("#document-close")
                closed = page.is_hidden("#document")

                page.goto(f"{base}/docs")  # the OpenAPI page renders from bundled assets, offline
                page.wait_for_selector("#operations-default-search_search_post", timeout=30_000)
            finally:
                browser.close()
    assert ids == [h["id"] for h in expected]
    assert titles == [h["title"] for h in expected]
    assert scores == [f"{h['score']:.4f}" for h in expected]
    assert "5 results" in timings and "total" in timings
    assert error.startswith("422: query: 10000 characters")
    assert after_error == (True, [h["id"] for h in expected_second], True)
    assert dialog == (True, top_document["title"], top_document["text"])
    assert closed
    assert failed == ["422 search"]  # nothing else failed: no favicon 404
    assert (tmp_path / "search.png").stat().st_size > 10_000


def test_the_page_under_a_key_says_when_nothing_matched_and_opens_documents(indexes, server):
    sync_playwright = browser_or_skip()
    key = "page-key"
    service = SearchService.from_index(indexes["bm25"])
    app = create_app(service, ServeConfig(api_key=key))
    doc_id = next(iter(service.documents))
    with server(app) as base, sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page()
            page.goto(base)
            page.wait_for_selector("#key-label:not([hidden])")
            links = page.is_hidden("#docs-links")  # /docs needs the key, which a page load cannot send
            page.fill("#api-key", key)
            page.fill("#query", "zzqxv qwxz")  # no word of the index: BM25 finds nothing
            page.press("#query", "Enter")
            page.wait_for_selector("#empty:not([hidden])")
            empty = page.inner_text("#empty")
            page.fill("#query", service.documents[doc_id].title)
            page.press("#query", "Enter")
            page.wait_for_selector("#results li.result")
            shown_empty = page.is_visible("#empty")
            page.click("#results li.result a.title >> nth=0")
            page.wait_for_function("document.getElementById('document-text').textContent.length > 0")
            opened = page.inner_text("#document-id"), page.text_content("#document-text")
        finally:
            browser.close()
    assert links
    assert "No documents matched" in empty and "zzqxv qwxz" in empty and "Try" in empty
    assert not shown_empty
    assert opened[1] == service.documents[opened[0]].text  # fetched with the key the page was given


def test_the_address_holds_the_search_so_a_result_page_can_be_shared_and_reloaded(indexes, server, queries):
    sync_playwright = browser_or_skip()
    first, second = queries[3], queries[4]
    app = create_app(SearchService.from_index(indexes["bm25"]))
    with server(app) as base:
        expected = httpx.post(f"{base}/search", json={"query": first, "k": 3}).json()["results"]
        expected_second = httpx.post(f"{base}/search", json={"query": second, "k": 3}).json()["results"]
        with sync_playwright() as p:
            browser = launch(p)
            try:
                page = browser.new_page()
                failed = failed_responses(page)
                page.goto(f"{base}/?{urlencode({'q': first, 'k': 3})}")  # a shared link: the search runs on load
                page.wait_for_selector("#results li.result")
                opened = (page.input_value("#query"), page.input_value("#k"),
                          page.locator("#results .doc-id").all_inner_texts())

                page.fill("#query", second)  # a new search typed in goes into the address
                page.press("#query", "Enter")
                page.wait_for_function(f"new URLSearchParams(location.search).get('q') === {json.dumps(second)}")
                page.wait_for_selector("#results li.result")
                typed = parse_qs(urlsplit(page.url).query), page.locator("#results .doc-id").all_inner_texts()

                page.reload()  # a reload (or a bookmark) shows the same results again
                page.wait_for_selector("#results li.result")
                reloaded = page.input_value("#query"), page.locator("#results .doc-id").all_inner_texts()

                page.go_back()  # Back: the first search again
                page.wait_for_function(f"document.getElementById('query').value === {json.dumps(first)}")
                page.wait_for_selector("#results li.result")
                back = page.locator("#results .doc-id").all_inner_texts()

                page.goto(f"{base}/?k=3")  # no query in the address: nothing is searched
                page.wait_for_function("document.getElementById('index-info').textContent.includes('documents')")
                bare = page.input_value("#query"), page.locator("#results li").count(), page.is_hidden("#error")
            finally:
                browser.close()
    assert expected and expected_second and expected != expected_second
    assert opened == (first, "3", [h["id"] for h in expected])
    assert typed == ({"q": [second], "k": ["3"]}, [h["id"] for h in expected_second])
    assert reloaded == (second, [h["id"] for h in expected_second])
    assert back == [h["id"] for h in expected]
    assert bare == ("", 0, True)
    assert failed == []
