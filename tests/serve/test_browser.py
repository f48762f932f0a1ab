"""A real browser (Debian's chromium, headless, driven by Playwright) searches from the web page."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi")
import httpx

from reasonir.serve import SearchService, create_app

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


def test_typing_a_query_shows_the_results_the_api_returns(indexes, tmp_path, queries, server):
    sync_playwright = browser_or_skip()
    query = queries[1]  # its evidence abstract is among the dense index's documents
    app = create_app(SearchService.from_index(indexes["dense"]))
    with server(app) as base:
        expected = httpx.post(f"{base}/search", json={"query": query, "k": 5}).json()["results"]
        documents = httpx.get(f"{base}/health").json()["documents"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1100, "height": 900})
                page.goto(base)
                page.wait_for_function("document.getElementById('index-info').textContent.includes('documents')")
                assert page.inner_text("#index-info") == f"{documents} documents · dense index"
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

                page.goto(f"{base}/docs")  # the OpenAPI page renders from bundled assets, offline
                page.wait_for_selector("#operations-default-search_search_post", timeout=30_000)
            finally:
                browser.close()
    assert ids == [h["id"] for h in expected]
    assert titles == [h["title"] for h in expected]
    assert scores == [f"{h['score']:.4f}" for h in expected]
    assert "5 results" in timings and "total" in timings
    assert error.startswith("422: query: 10000 characters")
    assert (tmp_path / "search.png").stat().st_size > 10_000
