// The search page: POST /search, then render results with textContent only (document text is never HTML).
"use strict";

const $ = (id) => document.getElementById(id);

async function loadInfo() {
  try {
    const health = await (await fetch("/health")).json();
    $("index-info").textContent = `${health.documents} documents · ${health.index_kind} index`;
    $("k").max = health.limits.max_k;
    $("key-label").hidden = !health.auth;
    $("api-key").value = sessionStorage.getItem("reasonir-api-key") || "";
  } catch (err) {
    $("index-info").textContent = "server unreachable";
  }
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

function render(data) {
  const list = $("results");
  list.replaceChildren();
  for (const hit of data.results) {
    const item = document.createElement("li");
    item.className = "result";
    const head = document.createElement("div");
    head.className = "head";
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = hit.title || hit.id;
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
    list.append(item);
  }
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

async function search(event) {
  event.preventDefault();
  $("error").hidden = true;
  const headers = { "Content-Type": "application/json" };
  const key = $("api-key").value;
  if (key) {
    headers["X-API-Key"] = key;
    sessionStorage.setItem("reasonir-api-key", key);
  }
  const body = { query: $("query").value, k: Number($("k").value), rewrite: $("rewrite").checked,
                 rerank: $("rerank").value };
  $("search-button").disabled = true;
  try {
    const response = await fetch("/search", { method: "POST", headers, body: JSON.stringify(body) });
    const data = await response.json();
    if (!response.ok) {
      showError(`${response.status}: ${data.error ? data.error.message : response.statusText}`);
      return;
    }
    render(data);
  } catch (err) {
    showError(`request failed: ${err}`);
  } finally {
    $("search-button").disabled = false;
  }
}

$("search-form").addEventListener("submit", search);
loadInfo();
