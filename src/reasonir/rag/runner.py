"""Answer questions closed-book and with retrieved documents; one record per (mode, question), resumable.

``answer_questions`` retrieves the top ``k`` documents for every question that still needs an answer (one batched
search through any ``Retriever`` or ``Pipeline``), builds each reader prompt from the prompt files, asks the LLM
through ``reasonir.llm`` (cached, retried, counted), reads the chosen letter and appends one record per answer
to the records file as it arrives (``JsonlAppender``: whole lines, fsynced; a crash loses at most the line being
written). A rerun skips the (mode, question) pairs already recorded; records made with other settings (reader,
k, prompts, datastore...) are refused rather than mixed. The report is computed from all records held.

Example (a scripted reader that always answers B, a BM25 datastore of two documents):
    >>> from reasonir.data.records import Document
    >>> from reasonir.testing import ScriptedLLM
    >>> from reasonir.retrieve import BM25Retriever
    >>> docs = [Document("d1", "Water boils at 100 C at sea level."), Document("d2", "Ice melts at 0 C.")]
    >>> store = Datastore.from_documents(BM25Retriever().index(docs), docs, "toy")
    >>> q = Question("q1", "At what temperature does water boil?", ("0 C", "100 C"), 1, evidence_ids=("d1",))
    >>> report = answer_questions([q], ScriptedLLM(lambda r: "Answer: B"), datastore=store,
    ...                           config=RAGConfig(k=1))
    >>> report.modes["retrieval"].accuracy.accuracy, report.hit_rate.rate
    (1.0, 1.0)
"""
from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from reasonir.data.appender import JsonlAppender
from reasonir.data.errors import DataError
from reasonir.data.records import Document, Query
from reasonir.llm.tokens import CHARS_PER_TOKEN_LOW
from reasonir.llm.types import ChatRequest, Sampling
from reasonir.rag.context import join_documents
from reasonir.rag.parse import extract_answer
from reasonir.rag.prompts import Prompts, load_prompts
from reasonir.rag.questions import LETTERS, Question
from reasonir.rag.report import RAGReport, summarize

Mode = Literal["closed-book", "retrieval"]
PROMPT_MARGIN_TOKENS = 48  # chat template tokens and estimation slack


@dataclass(frozen=True)
class RAGConfig:


    k: int = 3  # documents per question: the embedded reader is small and its window is 2k tokens
    doc_chars: int = 1500  # per-document cap (~400 tokens): three fit SmolLM2's 2048-token window with the question
    chain_of_thought: bool = False
    answer_tokens: int = 16  # a letter and a few words of preamble
    cot_tokens: int = 384  # room to reason before "Answer: X"
    modes: tuple[Mode, ...] = ("closed-book", "retrieval")
    chars_per_token: float = CHARS_PER_TOKEN_LOW  # low on purpose (reasonir.llm.tokens): never too many chars
    context_window: int | None = None  # None: the window the LLM reports (llm.context_window)

    @property
    def max_tokens(self) -> int:
        return self.cot_tokens if self.chain_of_thought else self.answer_tokens


@dataclass
class Datastore:
    """What retrieval needs: something with ``search(queries, k)`` (a Retriever or Pipeline) and a way to read the
    retrieved documents (``lookup(ids) -> {id: Document}``).

    ``Datastore.from_index(DIR)`` opens any index ``reasonir index`` built (its documents are stored beside it);
    ``Datastore.from_documents(searcher, docs)`` serves documents held in memory.
    """

    searcher: Any
    lookup: Callable[[Sequence[str]], Mapping[str, Document]]
    name: str = ""

    @classmethod
    def from_index(cls, folder: str | Path, searcher: Any = None, **load_kwargs: Any) -> Datastore:
        from reasonir.retrieve import load_index, lookup_documents

        searcher = searcher if searcher is not None else load_index(folder, **load_kwargs)
        return cls(searcher, lambda ids: lookup_documents(folder, ids), str(Path(folder).resolve()))

    @classmethod
    def from_documents(cls, searcher: Any, documents: Sequence[Document], name: str = "") -> Datastore:
        by_id = {d.id: d for d in documents}
        return cls(searcher, lambda ids: {i: by_id[i] for i in ids if i in by_id}, name)


def retrieve_ids(searcher: Any, queries: list[Query], k: int) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Top-``k`` ids per query, and what the search reported about itself (rewrites, compute, seconds).

    A searcher with ``search_detailed`` (a Pipeline with rewriting/reranking) reports its own stages; otherwise
    only the wall time of ``search`` is known.
    """
    from reasonir.retrieve.steps import DetailedSearch  # retrieval loads only when a datastore is searched

    start = time.perf_counter()
    details: dict[str, Any] = {}
    if isinstance(searcher, DetailedSearch):
        found = searcher.search_detailed(queries, k=k)
        run = found.run
        details = {"rewrites": dict(found.rewrites or {}), "compute": dict(found.compute or {}),
                   "stage_seconds": dict(found.seconds or {})}
    else:
        run = searcher.search(queries, k=k)
    details["seconds"] = time.perf_counter() - start
    ranked = {qid: [d for d, _ in sorted(hits.items(), key=lambda x: (-x[1], x[0]))][:k] for qid, hits in run.items()}
    return ranked, details


def signature(config: RAGConfig, model: str, prompts: Prompts, datastore: str) -> str:
    """A short hash of everything that changes an answer: records with another signature are never mixed in."""
    blob = json.dumps({**asdict(config), "modes": None, "model": model, "prompts": prompts.fingerprint(),
                       "datastore": datastore}, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def build_request(question: Question, context: str, config: RAGConfig, prompts: Prompts, tag: str) -> ChatRequest:
    options = "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(question.choices))
    letters = ", ".join(question.letters)
    user = prompts.render("answer_cot" if config.chain_of_thought else "answer", context=context,
                          question=question.text, options=options, letters=letters)
    return ChatRequest.user(user, system=prompts.texts["system"] or None, tag=tag,
                            sampling=Sampling(max_tokens=config.max_tokens))


def context_budget(question: Question, config: RAGConfig, prompts: Prompts, window: int | None) -> int | None:
    """Characters the documents may take so that the prompt and the answer fit the reader's window."""
    if window is None:
        return None
    bare = build_request(question, "", config, prompts, "")
    prompt_chars = sum(len(m["content"]) for m in bare.messages)
    tokens_left = window - config.max_tokens - PROMPT_MARGIN_TOKENS
    return max(0, int(tokens_left * config.chars_per_token) - prompt_chars)


def answer_questions(questions: Sequence[Question], llm: Any, *, datastore: Datastore | None = None,
                     config: RAGConfig = RAGConfig(), records: str | Path | None = None,
                     prompts: Prompts | None = None, progress: bool = False) -> RAGReport:
    """Answer ``questions`` in each of ``config.modes`` and report; see the module docstring.

    ``records``: a JSONL file of per-question records, appended to and resumed from (None: kept in memory).
    """
    prompts = prompts or load_prompts()
    if "retrieval" in config.modes and datastore is None:
        raise ValueError("retrieval mode needs a datastore (an index); or run closed-book only")
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise ValueError("question ids must be unique")
    sig = signature(config, llm.model, prompts, datastore.name if datastore else "")
    window = config.context_window or llm.context_window
    appender = JsonlAppender(records, key="key") if records is not None else None
    try:
        held = _held_records(Path(records), sig) if records is not None else {}
        todo = [(m, q) for m in config.modes for q in questions if f"{m}/{q.id}" not in held]
        started = time.perf_counter()
        retrieved, details = _retrieve_for([q for m, q in todo if m == "retrieval"], datastore, config.k)
        docs = dict(datastore.lookup(sorted({d for ids_ in retrieved.values() for d in ids_}))) if datastore else {}
        requests, contexts = [], []
        for mode, q in todo:
            if mode == "retrieval":
                found = [docs[d] for d in retrieved.get(q.id, []) if d in docs]
                block = join_documents(found, prompts, doc_chars=config.doc_chars,
                                       budget_chars=context_budget(q, config, prompts, window))
            else:
                block = None
            contexts.append(block)
            requests.append(build_request(q, block.text if block else "", config, prompts, f"rag.{mode}"))
        new, failed = [], 0
        bar = _progress(len(requests), progress)
        for i, result in llm.chat_many(requests):
            bar.update(1)
            mode, q = todo[i]
            if result.text is None:  # no answer after retries: not recorded, so the next run asks again
                failed += 1
                continue
            row = _record(mode, q, result, contexts[i], retrieved.get(q.id), details, sig)
            if appender is not None:
                appender.append(row)
            new.append(row)
        bar.close()
    finally:
        if appender is not None:
            appender.close()
    wanted = {f"{m}/{q.id}" for m in config.modes for q in questions}
    rows = [r for k, r in held.items() if k in wanted] + new
    settings = {**asdict(config), "reader": llm.model, "context_window": window,
                "datastore": datastore.name if datastore else None, "prompts": prompts.fingerprint(),
                "signature": sig}
    report = summarize(rows, settings=settings)
    usage = llm.usage().as_dict()
    report.run = {"answered": len(new), "resumed": len(rows) - len(new), "failed": failed,
                  "retrieval_seconds": details.get("seconds", 0.0), "seconds": time.perf_counter() - started,
                  "usage": usage, "records": str(records) if records is not None else None}
    return report


def answer_question(datastore: Datastore, question: str, choices: Sequence[str], llm: Any, *, k: int = 3,
                    config: RAGConfig = RAGConfig(), prompts: Prompts | None = None) -> dict[str, Any]:
    """One multiple-choice question answered from its top-``k`` documents, as ``reasonir serve``'s /rag asks it:
    the retrieved ids, the reader's raw answer and the letter read from it (None when it gave none)."""
    if len(choices) < 2:
        raise ValueError("a question needs at least two choices to answer with a letter")
    prompts = prompts or load_prompts()
    q = Question("q", question, tuple(choices), 0)
    retrieved, details = retrieve_ids(datastore.searcher, [Query(q.id, question)], k)
    docs = datastore.lookup(retrieved.get(q.id, []))
    block = join_documents([docs[d] for d in retrieved.get(q.id, []) if d in docs], prompts,
                           doc_chars=config.doc_chars,
                           budget_chars=context_budget(q, config, prompts, llm.context_window))
    result = llm.chat(build_request(q, block.text, config, prompts, "rag.serve"))
    parsed = extract_answer(result.text, len(choices), choices=tuple(choices)) if result.text is not None else None
    out = {"retrieved_ids": retrieved.get(q.id, []), "context_ids": block.ids, "raw_answer": result.text,
           "letter": parsed.letter if parsed else None, "how": parsed.how if parsed else None,
           "choice": choices[LETTERS.index(parsed.letter)] if parsed and parsed.letter else None,
           "error": result.error, "seconds": details.get("seconds")}
    if details.get("rewrites"):
        out["rewrite"] = details["rewrites"].get(q.id)
    return out


def _retrieve_for(questions: list[Question], datastore: Datastore | None,
                  k: int) -> tuple[dict[str, list[str]], dict[str, Any]]:
    if not questions or datastore is None:
        return {}, {}
    return retrieve_ids(datastore.searcher, [Query(q.id, q.retrieval_text) for q in questions], k)


def _record(mode: str, q: Question, result: Any, block: Any, retrieved: list[str] | None,
            details: Mapping[str, Any], sig: str) -> dict[str, Any]:
    parsed = extract_answer(result.text, len(q.choices), choices=q.choices)
    row: dict[str, Any] = {
        "key": f"{mode}/{q.id}", "question_id": q.id, "mode": mode, "subject": q.subject, "question": q.text,
        "choices": list(q.choices), "gold": q.letter, "n_choices": len(q.choices),
        "retrieved_ids": retrieved if mode == "retrieval" else [],
        "context_ids": block.ids if block else [], "cut_ids": block.cut if block else [],
        "evidence_ids": list(q.evidence_ids),
        "evidence_hit": (bool(set(retrieved or []) & set(q.evidence_ids))
                         if mode == "retrieval" and q.evidence_ids else None),
        "raw_answer": result.text, "letter": parsed.letter, "how": parsed.how, "correct": parsed.letter == q.letter,
        "llm_error": result.error, "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens, "cached": result.cached, "signature": sig,
    }
    if mode == "retrieval" and details.get("rewrites", {}).get(q.id):
        row["rewrite"] = details["rewrites"][q.id]
    return row


def _held_records(path: Path, sig: str) -> dict[str, dict[str, Any]]:
    """Records already in ``path`` (the appender has cut any torn last line); refuse ones made otherwise."""
    held: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return held
    with open(path, encoding="utf-8") as fh:
        for line, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            row = json.loads(raw)
            if row.get("signature") != sig:
                raise DataError(path, line, "signature", "these records were made with other settings (reader, "
                                "k, prompts, datastore or lengths); write to another --records file or delete it")
            held[row["key"]] = row
    return held


def _progress(total: int, show: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="rag", unit="answer", disable=not show)
