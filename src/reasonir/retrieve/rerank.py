"""Rerankers: an LLM judging relevance (pointwise 0-5, or listwise windows) and cross-encoders.

Every reranker rescores each query's top ``k`` retrieved documents (default 100, ReasonIR) and blends, so that
ties among equal LLM scores break by the retriever's opinion (ReasonIR, section 5):

    final = alpha x rerank / 5 + (1 - alpha) x retriever score min-max normalized over the top k     (alpha 0.5)

(the normalisation is ``reasonir.retrieve.scoring.minmax`` with ``over="results"``: all-equal scores map to 1).

Documents below the top ``k`` keep their order beneath the reranked ones. A ``Pipeline`` hands the reranker the
user's original queries and the corpus (``documents``); the reranker records ``compute`` (query id ->
:class:`~reasonir.retrieve.compute.StageCompute`) and ``failures`` after each call. A failed LLM judgement counts
as the retriever's own normalized score (x5), so it neither promotes nor buries the document.

Example (scripted LLM: the document mentioning "purr" gets 5, the others 0):
    >>> from reasonir.testing import ScriptedLLM
    >>> judge = ScriptedLLM(lambda r: {"score": 5 if "purr" in r.messages[-1]["content"] else 0})
    >>> docs = [Document("a", "dogs bark"), Document("b", "cats purr"), Document("c", "cows moo")]
    >>> LLMReranker(judge, k=3, documents=docs)([Query("q", "cats")], {"q": {"a": 3.0, "b": 2.0, "c": 1.0}})
    {'q': {'a': 0.5, 'b': 0.75, 'c': 0.0}}
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from reasonir.data.records import Document, Query
from reasonir.llm.sizes import llm_parameters
from reasonir.llm.types import LLM, ChatRequest, ChatResult, Sampling
from reasonir.retrieve.base import DocumentLookup, Run, document_text
from reasonir.retrieve.compute import StageCompute, count_tokens, encoder_parameters, flops, llm_compute
from reasonir.retrieve.prompts import load_prompt, render, task_kinds
from reasonir.retrieve.scoring import minmax_scores, ranked
from reasonir.retrieve.store import table_lookup

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

RERANK_K = 100  # ReasonIR reranks the retriever's top 100
ALPHA = 0.5  # ReasonIR's weight of the reranker score in the blend
MAX_SCORE = 5  # pointwise relevance scale 0..5 (ReasonIR)
POINTWISE_WORDS = 300  # document words shown per judgement: fits the embedded SmolLM2's 2,048-token context
LISTWISE_WORDS = 60  # per passage in a listwise window, so that a window of 20 fits the same context
WINDOW, STEP = 20, 10  # RankGPT's sliding window (Sun et al., 2023)
RerankMode = Literal["pointwise", "listwise"]

SCORE_SCHEMA = {"type": "object", "properties": {"score": {"type": "integer", "minimum": 0, "maximum": MAX_SCORE}},
                "required": ["score"]}
RANKING_SCHEMA = {"type": "object", "properties": {"ranking": {"type": "array", "items": {"type": "integer"},
                                                               "maxItems": WINDOW * 2}}, "required": ["ranking"]}


def top_docs(scores: Mapping[str, float], k: int) -> list[str]:
    return [d for d, _ in ranked(scores)[:k]]


def blend(retrieved: Mapping[str, float], rerank: Mapping[str, float], alpha: float = ALPHA,
          scale: float = MAX_SCORE) -> dict[str, float]:
    """``alpha x rerank/scale + (1 - alpha) x minmax(retrieved)`` for the reranked documents; the rest keep their
    retriever order below them (scores -1, -2, ...).

    >>> blend({"a": 9.0, "b": 5.0, "c": 1.0}, {"a": 0, "b": 5})
    {'a': 0.5, 'b': 0.5, 'c': -1.0}
    """
    head = {d: retrieved[d] for d in rerank}
    norm = minmax_scores(head, over="results")
    out = {d: alpha * rerank[d] / scale + (1 - alpha) * norm[d] for d in rerank}
    rest = [d for d in top_docs(retrieved, len(retrieved)) if d not in rerank]
    out.update({d: -float(i) for i, d in enumerate(rest, start=1)})
    return out


def truncate_words(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


class _Reranker:
    """What the rerankers share: the corpus lookup, the top-k cut, the blend, per-query compute."""

    stage = "rerank"

    def __init__(self, k: int, alpha: float, documents: Iterable[Document] | DocumentLookup | None) -> None:
        if k < 1:
            raise ValueError(f"rerank k must be at least 1, not {k}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be within [0, 1], not {alpha}")
        self.k, self.alpha = k, alpha
        self.documents = documents  # type: ignore[assignment]
        self.compute: dict[str, StageCompute] = {}
        self.failures: dict[str, str] = {}

    @property
    def documents(self) -> DocumentLookup | None:
        return self._lookup

    @documents.setter
    def documents(self, documents: Iterable[Document] | DocumentLookup | None) -> None:
        """A list of documents, or a function from ids to ``{id: Document}`` (e.g. reading a saved index)."""
        self._lookup = documents if documents is None or callable(documents) else table_lookup(list(documents))

    def _texts(self, ids: list[str]) -> dict[str, str]:
        if self._lookup is None:
            raise RuntimeError(f"{type(self).__name__} has no documents: index through a Pipeline, or pass documents=")
        found = self._lookup(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise KeyError(f"reranker cannot find document(s) {missing[:5]} in the corpus")
        return {i: document_text(found[i]) for i in ids}


class LLMReranker(_Reranker):
    """Rerank with an LLM through ``reasonir.llm`` (cached, retried, counted).

    ``mode="pointwise"`` asks for a 0-5 relevance score per (query, document) with a JSON schema;
    ``mode="listwise"`` ranks windows of ``window`` passages from the bottom of the top k up, moving ``step``
    each time (RankGPT); the final order's positions map linearly onto 0-5 before the same blend. ``task`` picks
    how the prompt names the query and documents (``retrieve/prompts/tasks.json``: BRIGHT's tasks, SciFact).
    """

    def __init__(self, llm: LLM, k: int = RERANK_K, alpha: float = ALPHA, task: str | None = None, *,
                 mode: RerankMode = "pointwise", documents: Iterable[Document] | DocumentLookup | None = None,
                 max_words: int | None = None, window: int = WINDOW, step: int = STEP,
                 prompts: str | Path | None = None, parameters: int | None = None) -> None:
        super().__init__(k, alpha, documents)
        if mode not in ("pointwise", "listwise"):
            raise ValueError(f"unknown rerank mode {mode!r}; expected 'pointwise' or 'listwise'")
        if not 0 < step <= window:
            raise ValueError(f"need 0 < step <= window, got step={step}, window={window}")
        self.llm, self.task, self.mode, self.window, self.step = llm, task, mode, window, step
        self.max_words = max_words or (POINTWISE_WORDS if mode == "pointwise" else LISTWISE_WORDS)
        self.template = load_prompt(f"rerank_{mode}", prompts)
        self.kinds = task_kinds(task)
        self.parameters = parameters if parameters is not None else llm_parameters(llm.model)

    def _slots(self, query: Query) -> dict[str, str]:
        return {"query": " ".join(query.text.split()), "query_kind": self.kinds["query"],
                "document_kind": self.kinds["document"]}

    def pointwise_request(self, query: Query, text: str) -> ChatRequest:
        prompt = render(self.template, document=truncate_words(text, self.max_words), **self._slots(query))
        return ChatRequest.user(prompt, json_schema=SCORE_SCHEMA, sampling=Sampling(max_tokens=16), tag="rerank")

    def __call__(self, queries: Sequence[Query], run: Run) -> Run:
        self.compute, self.failures = {}, {}
        heads = {q.id: top_docs(run.get(q.id, {}), self.k) for q in queries}
        texts = self._texts(sorted({d for ids in heads.values() for d in ids}))
        if self.mode == "pointwise":
            scores = self._pointwise(queries, heads, texts, run)
        else:
            scores = self._listwise(queries, heads, texts)
        return {q.id: blend(run.get(q.id, {}), scores[q.id], self.alpha) for q in queries}

    def _pointwise(self, queries: Sequence[Query], heads: dict[str, list[str]], texts: dict[str, str],
                   run: Run) -> dict[str, dict[str, float]]:
        jobs = [(q, d) for q in queries for d in heads[q.id]]
        results: list[ChatResult | None] = [None] * len(jobs)
        for i, result in self.llm.chat_many([self.pointwise_request(q, texts[d]) for q, d in jobs]):
            results[i] = result
        scores: dict[str, dict[str, float]] = {q.id: {} for q in queries}
        per_query: dict[str, list[ChatResult]] = {q.id: [] for q in queries}
        for (q, d), result in zip(jobs, results):
            assert result is not None
            per_query[q.id].append(result)
            if result.ok and isinstance(result.parsed, dict):
                scores[q.id][d] = float(result.parsed["score"])
            else:
                self.failures[f"{q.id}/{d}"] = result.error or "no score"
                norm = minmax_scores({x: run[q.id][x] for x in heads[q.id]}, over="results")
                scores[q.id][d] = MAX_SCORE * norm[d]  # neutral: the retriever's own opinion
        for q in queries:
            self.compute[q.id] = llm_compute(per_query[q.id], self.parameters)
        return scores

    def listwise_request(self, query: Query, window_texts: list[str]) -> ChatRequest:
        passages = "\n".join(f"[{i}] {truncate_words(t, self.max_words)}" for i, t in enumerate(window_texts, 1))
        prompt = render(self.template, passages=passages, **self._slots(query))
        return ChatRequest.user(prompt, json_schema=RANKING_SCHEMA,
                                sampling=Sampling(max_tokens=8 * len(window_texts) + 16), tag="rerank")

    def _listwise(self, queries: Sequence[Query], heads: dict[str, list[str]],
                  texts: dict[str, str]) -> dict[str, dict[str, float]]:
        scores: dict[str, dict[str, float]] = {}
        for q in queries:  # windows of one query depend on each other: sequential per query
            order, used = list(heads[q.id]), []
            start = max(len(order) - self.window, 0)
            while True:
                window = order[start:start + self.window]
                result = self.llm.chat(self.listwise_request(q, [texts[d] for d in window]))
                used.append(result)
                if result.ok and isinstance(result.parsed, dict):
                    order[start:start + self.window] = apply_permutation(window, result.parsed["ranking"])
                else:
                    self.failures[f"{q.id}/window@{start}"] = result.error or "no ranking"
                if start == 0:
                    break
                start = max(start - self.step, 0)
            n = len(order)
            scores[q.id] = {d: MAX_SCORE * (1.0 if n == 1 else 1 - i / (n - 1)) for i, d in enumerate(order)}
            self.compute[q.id] = llm_compute(used, self.parameters)
        return scores

    def __repr__(self) -> str:
        return f"LLMReranker(k={self.k}, alpha={self.alpha}, mode={self.mode!r}, model={self.llm.model!r})"


def apply_permutation(window: list[str], ranking: Sequence[object]) -> list[str]:
    """Reorder ``window`` by 1-based passage numbers; invalid and repeated numbers are ignored and passages the
    LLM left out follow in their previous order (RankGPT's rule).

    >>> apply_permutation(["a", "b", "c"], [3, 3, 9, "x", 1])
    ['c', 'a', 'b']
    """
    seen: list[int] = []
    for r in ranking:
        if isinstance(r, int) and not isinstance(r, bool) and 1 <= r <= len(window) and r - 1 not in seen:
            seen.append(r - 1)
    seen += [i for i in range(len(window)) if i not in seen]
    return [window[i] for i in seen]


class CrossEncoderReranker(_Reranker):
    """Rerank with any sentence-transformers ``CrossEncoder`` (a name, a folder, or a loaded model).

    The cross-encoder's scores are min-max normalized over the top k and blended like the LLM's:
    ``alpha x norm(ce) + (1 - alpha) x norm(retriever)``. FLOPs count ``2 x parameters x`` the (query, document)
    pair tokens it reads. No cross-encoder weights are packaged here (the hub is unreachable in this project's
    sandbox); reasonir's tests build one from the packaged all-MiniLM-L6-v2 body with a fresh scoring head, which
    exercises the code, not the quality.

    Example:
        >>> rr = CrossEncoderReranker("cross-encoder/ms-marco-MiniLM-L6-v2", k=100)  # doctest: +SKIP
    """

    def __init__(self, model: str | CrossEncoder, k: int = RERANK_K, alpha: float = ALPHA, *,
                 documents: Iterable[Document] | DocumentLookup | None = None, batch_size: int = 32,
                 max_length: int | None = 512) -> None:
        super().__init__(k, alpha, documents)
        self._model, self.model_name = (None, model) if isinstance(model, (str, Path)) else (model, None)
        self.batch_size, self.max_length = batch_size, max_length

    @property
    def model(self) -> CrossEncoder:
        if self._model is None:
            from reasonir.optional import require

            st = require("sentence_transformers", "models", purpose="the cross-encoder reranker")
            self._model = st.CrossEncoder(str(self.model_name), max_length=self.max_length)
        return self._model

    def __call__(self, queries: Sequence[Query], run: Run) -> Run:
        self.compute, self.failures = {}, {}
        heads = {q.id: top_docs(run.get(q.id, {}), self.k) for q in queries}
        texts = self._texts(sorted({d for ids in heads.values() for d in ids}))
        model, params = self.model, None
        out: Run = {}
        for q in queries:
            ids = heads[q.id]
            pairs = [(q.text, texts[d]) for d in ids]
            raw = model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False) if pairs else []
            scores = minmax_scores({d: float(s) for d, s in zip(ids, raw)}, over="results")
            out[q.id] = blend(run.get(q.id, {}), scores, self.alpha, scale=1.0)
            params = params if params is not None else encoder_parameters(model)
            tokens = sum(count_tokens(model.tokenizer, [p[0] for p in pairs], self.max_length, [p[1] for p in pairs]))
            self.compute[q.id] = StageCompute(encoded_tokens=tokens, flops=flops(params, tokens), requests=len(pairs))
        return out

    def __repr__(self) -> str:
        return f"CrossEncoderReranker(k={self.k}, alpha={self.alpha})"
