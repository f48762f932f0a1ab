// The search page: POST /search, then render results with textContent only (document text is never HTML).
// A result's title opens the whole document (GET /documents/{id}) in a dialog.
// The address holds the search (/?q=...&k=...): a page opened, reloaded or bookmarked at such an address runs
// that search, and each search typed in writes its query and k there, so a result page can be shared.
"use strict";

const $ = (id) => document.getElementById(id);
let latest = 0; // the newest search: an older answer that arrives late is dropped

function apiHeaders(json) {
  const headers = json ? { "Content-Type": "application/json" } : {};
  const key = $("api-key").value;
  if (key) {
    headers["X-API-Key"] = key;
    sessionStorage.setItem("reasonir-api-key", key);
  }
  return headers;
}

async function loadInfo() {
  try {
    const health = await (await fetch("/health")).json();
    $("index-info").textContent = `${health.documents} documents · ${health.index_kind} index`;
    $("k").max = health.limits.max_k;
    $("key-label").hidden = !health.auth;
    $("api-key").value = sessionStorage.getItem("reasonir-api-key") || "";
    $("rewrite-label").hidden = !health.features.rewrite;
    const labels = { none: "none", llm: "LLM", "cross-encoder": "cross-encoder" };
    $("rerank").replaceChildren(...health.features.rerank.map((value) => new Option(labels[value] || value, value)));
    $("rerank-label").hidden = health.features.rerank.length < 2; // offered only when a reranker is loaded
    $("docs-links").hidden = health.docs !== "open"; // under a key a browser cannot send it on a page load
  } catch (err) {
    $("index-info").textContent = "server unreachable";
  }
}

async function errorMessage(response) {
  try {
    const data = await response.json();
    return `${response.status}: ${data.error ? data.error.message : response.statusText}`;
  } catch (err) {
    return `${response.status}: ${response.statusText}`;
  }
}

// Before each search and after a failed one: nothing from an earlier answer stays on screen.
function clearResults() {
  $("results").replaceChildren();
  $("summary").hidden = true;
  $("empty").hidden = true;
}

function setBusy(busy) {
  $("search-button").disabled = busy;
  $("results").setAttribute("aria-busy", String(busy));
  $("status").textContent = busy ? "Searching…" : "";
  $("status").hidden = !busy;
}

function showError(message) {
  clearResults();
  $("error").textContent = message;
  $("error").hidden = false;
}

function resultItem(hit) {
  const item = document.createElement("li");
  item.className = "result";
  const head = document.createElement("div");
  head.className = "head";
  const title = document.createElement("a");
  title.className = "title";
  title.href = `#document-${encodeURIComponent(hit.id)}`;
  title.textContent = hit.title || hit.id;
  title.addEventListener("click", (event) => {
    event.preventDefault();
    openDocument(hit.id);
  });
  const score = document.createElement("span");
  score.className = "score";
  score.textContent = hit.score.toFixed(4);
  head.append(title, score);
  const id = document.createElement("div");
  id.className = "doc-id muted";
  id.textContent = hit.id;
  const snippet = document.createElement("p");
  snippet.className = "snippet";
  snippet.textContent = hit.snippet;
  item.append(head, id, snippet);
  return item;
}

function render(data) {
  $("results").replaceChildren(...data.results.map(resultItem));
  $("empty").hidden = data.results.length > 0;
  $("empty-query").textContent = data.query;
  const rewritten = data.rewritten_query;
  $("rewritten").hidden = !rewritten;
  $("rewritten-text").textContent = rewritten || "";
  const t = data.timings_ms;
  const stages = Object.entries(t).filter(([name]) => name.startsWith("stage_"))
    .map(([name, ms]) => `${name.slice(6)} ${ms.toFixed(1)} ms`);
  $("timings").textContent = `${data.results.length} results · total ${t.total.toFixed(1)} ms · search ` +
    `${t.search.toFixed(1)} ms (batch of ${t.batch_size}) · queued ${t.queue.toFixed(1)} ms` +
    (stages.length ? " · " + stages.join(" · ") : "");
  $("summary").hidden = false;
}

// The search the address asks for ({query, k}; k null when absent or not a positive whole number), or null.
function searchFromAddress() {
  const params = new URLSearchParams(window.location.search);
  const query = params.get("q");
  if (!query || !query.trim()) return null;
  const k = Number(params.get("k"));
  return { query, k: Number.isInteger(k) && k >= 1 ? k : null };
}

// Write the search on screen into the address. A search typed in adds a history entry when the address changes
// (Back returns to the previous search); one the address asked for only completes it (k filled in), in place.
function keepInAddress(query, k, fromAddress) {
  const address = `${window.location.pathname}?${new URLSearchParams({ q: query, k: String(k) })}`;
  if (fromAddress || address === window.location.pathname + window.location.search) {
    history.replaceState(null, "", address);
  } else {
    history.pushState(null, "", address);
  }
  document.title = `${query} · reasonir search`;
}

// Fill the form from the address and search, when it names a query (a page load, Back or Forward); an address
// without one (Back to the bare page) shows the bare page.
function searchTheAddress() {
  const wanted = searchFromAddress();
  if (!wanted) {
    latest++; // an answer still on its way is for a search no longer asked for
    $("query").value = "";
    $("error").hidden = true;
    clearResults();
    setBusy(false);
    document.title = "reasonir search";
    return;
  }
  $("query").value = wanted.query;
  if (wanted.k !== null) $("k").value = String(wanted.k);
  search(true);
}

function submitted(event) {
  event.preventDefault();
  search(false);
}

async function search(fromAddress) {
  const mine = ++latest;
  keepInAddress($("query").value, $("k").value, fromAddress);
  $("error").hidden = true;
  clearResults();
  setBusy(true);
  const body = { query: $("query").value, k: Number($("k").value), rewrite: $("rewrite").checked,
                 rerank: $("rerank").value };
  try {
    const response = await fetch("/search", { method: "POST", headers: apiHeaders(true), body: JSON.stringify(body) });
    if (mine !== latest) return;
    if (!response.ok) {
      showError(await errorMessage(response));
      return;
    }
    const data = await response.json();
    if (mine === latest) render(data);
  } catch (err) {
    if (mine === latest) showError(`request failed: ${err}`);
  } finally {
    if (mine === latest) setBusy(false);
  }
}

async function openDocument(id) {
  const dialog = $("document");
  $("document-title").textContent = "Loading…";
  $("document-id").textContent = id;
  $("document-text").textContent = "";
  if (!dialog.open) dialog.showModal();
  try {
    const response = await fetch(`/documents/${encodeURIComponent(id)}`, { headers: apiHeaders(false) });
    if (!response.ok) {
      $("document-title").textContent = "Could not open the document";
      $("document-text").textContent = await errorMessage(response);
      return;
    }
    const doc = await response.json();
    $("document-title").textContent = doc.title || doc.id;
    $("document-text").textContent = doc.text;
  } catch (err) {
    $("document-title").textContent = "Could not open the document";
    $("document-text").textContent = `request failed: ${err}`;
  }
}

$("search-form").addEventListener("submit", submitted);
$("document-close").addEventListener("click", () => $("document").close());
window.addEventListener("popstate", searchTheAddress);
// The limits and the stored API key come first: a search the address asks for is sent with them
loadInfo().then(searchTheAddress);
