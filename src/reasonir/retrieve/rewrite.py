"""LLM query rewriting under a token budget: BRIGHT's "reasoning" queries, ReasonIR's query expansion.

The LLM reads the query, states the essential problem, reasons about what would help, and drafts an answer in
at most ``budget`` generated tokens; the result replaces the query (``mode="replace"``, as BRIGHT's reason.py
does) or is joined after it (``mode="append"``). Any retriever then searches with it. Every call goes through
``reasonir.llm`` (cached, retried, usage counted), so a rerun costs nothing and a crash loses no answer. A
request that fails (retries exhausted) keeps the original query and is listed in ``failures``.

Example (a scripted LLM; ``reasonir.llm.load_llm()`` gives the embedded SmolLM2 or your endpoint):
    >>> from reasonir.testing import ScriptedLLM
    >>> rewriter = QueryRewriter(ScriptedLLM(lambda r: "Cats purr when content."), budget=64, mode="append")
    >>> [q.text for q in rewriter([Query("q1", "why do cats purr")])]
    ['why do cats purr\\nCats purr when content.']
    >>> rewriter.rewrites
    {'q1': 'Cats purr when content.'}
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from reasonir.data.records import Query
from reasonir.llm.sizes import llm_parameters
from reasonir.llm.tokens import WORDS_PER_TOKEN
from reasonir.llm.types import LLM, ChatRequest, ChatResult, Sampling
from reasonir.retrieve.compute import StageCompute, llm_compute
from reasonir.retrieve.prompts import load_prompt, render

RewriteMode = Literal["replace", "append"]
MIN_BUDGET, MAX_BUDGET = 64, 4096  # the query-length range ReasonIR's scaling study spans
# 512 generated tokens: a full reasoning draft that still fits the embedded SmolLM2's 2,048-token context with the
# prompt (BRIGHT's reason.py lets the LLM write up to 2,048; pass budget=2048 to a model with a longer context)
DEFAULT_BUDGET = 512


class QueryRewriter:
    """A ``Pipeline`` query transform: ``rewriter(queries) -> queries`` with the same ids, rewritten by an LLM.

    After each call: ``rewrites`` (query id -> LLM text), ``compute`` (query id -> :class:`StageCompute`),
    ``failures`` (query id -> error). ``parameters`` overrides the LLM's parameter count for FLOPs (default: the
    table in :mod:`reasonir.retrieve.compute`; unknown models report FLOPs as unknown).
    """

    stage = "rewrite"

    def __init__(self, llm: LLM, budget: int = DEFAULT_BUDGET, mode: RewriteMode = "replace", task: str | None = None,
                 *, prompts: str | Path | None = None, parameters: int | None = None,
                 sampling: Sampling | None = None) -> None:
        if not MIN_BUDGET <= budget <= MAX_BUDGET:
            raise ValueError(f"rewrite budget {budget} is outside {MIN_BUDGET}..{MAX_BUDGET} tokens")
        if mode not in ("replace", "append"):
            raise ValueError(f"unknown rewrite mode {mode!r}; expected 'replace' or 'append'")
        self.llm, self.budget, self.mode, self.task = llm, budget, mode, task
        self.template = load_prompt("rewrite", prompts)
        self.parameters = parameters if parameters is not None else llm_parameters(llm.model)
        self.sampling = sampling or Sampling(max_tokens=budget)  # greedy (Sampling's default): reproducible
        self.rewrites: dict[str, str] = {}
        self.compute: dict[str, StageCompute] = {}
        self.failures: dict[str, str] = {}

    def request(self, query: Query) -> ChatRequest:
        prompt = render(self.template, query=" ".join(query.text.split()), words=int(self.budget * WORDS_PER_TOKEN))
        return ChatRequest.user(prompt, sampling=self.sampling, tag="rewrite")

    def __call__(self, queries: Sequence[Query]) -> list[Query]:
        queries = list(queries)
        results: list[ChatResult | None] = [None] * len(queries)
        for i, result in self.llm.chat_many([self.request(q) for q in queries]):
            results[i] = result
        self.rewrites, self.compute, self.failures = {}, {}, {}
        out = []
        for q, result in zip(queries, results):
            assert result is not None
            self.compute[q.id] = llm_compute([result], self.parameters)
            text = (result.text or "").strip()
            if not result.ok or not text:
                self.failures[q.id] = result.error or "empty rewrite"
                out.append(q)
                continue
            self.rewrites[q.id] = text
            out.append(Query(q.id, text if self.mode == "replace" else f"{q.text}\n{text}", q.excluded_ids))
        return out

    def __repr__(self) -> str:
        return f"QueryRewriter(budget={self.budget}, mode={self.mode!r}, model={self.llm.model!r})"
