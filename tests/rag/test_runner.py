"""Control flow of answer_questions with scripted readers: prompts, retrieval, records, resume, refusal, failures."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from reasonir.data import DataError
from reasonir.data.records import Document
from reasonir.llm import BaseLLM, ChatRequest, ChatResult
from reasonir.testing import ScriptedLLM
from reasonir.rag import Datastore, Question, RAGConfig, answer_questions
from reasonir.retrieve import BM25Retriever, Pipeline

DOCS = [Document("water", "Water boils at 100 degrees Celsius at sea level.", "Boiling"),
        Document("ice", "Ice melts at 0 degrees Celsius.", "Melting"),
        Document("iron", "Iron melts at 1538 degrees Celsius.", "Metals")]
QUESTIONS = [Question("q1", "At what temperature does water boil?", ("0 C", "100 C", "1538 C"), 1, "phys",
                      evidence_ids=("water",)),
             Question("q2", "When does ice melt?", ("0 C", "100 C"), 0, "phys", evidence_ids=("ice",)),
             Question("q3", "Iron melting point?", ("100 C", "1538 C"), 1, "chem", evidence_ids=("water",))]


def store() -> Datastore:
    return Datastore.from_documents(Pipeline(BM25Retriever()).index(DOCS), DOCS, "toy")


def oracle(request: ChatRequest) -> str:
    """Answers right only when the prompt holds a document that states the fact."""
    prompt = request.messages[-1]["content"]
    if "Documents that may help" not in prompt:
        return "I do not know."
    if "Water boils at 100" in prompt and "water boil" in prompt:
        return "Answer: (b)"
    if "Ice melts at 0" in prompt and "ice melt" in prompt:
        return "a"
    return "Answer: B"


def test_closed_book_vs_retrieval_records_and_report(tmp_path: Path) -> None:
    llm = ScriptedLLM(oracle)
    records = tmp_path / "records.jsonl"
    report = answer_questions(QUESTIONS, llm, datastore=store(), config=RAGConfig(k=1), records=records)
    closed = [r for r in llm.calls if "Documents" not in r.messages[-1]["content"]]
    assert len(llm.calls) == 6 and len(closed) == 3  # every question both ways
    assert report.modes["closed-book"].accuracy.correct == 0 and report.modes["closed-book"].parsed == 0
    assert report.modes["closed-book"].no_answer == {"no_letter": 3}
    assert report.modes["retrieval"].accuracy.correct == 3
    assert report.change.wins == 3 and report.change.delta == 1.0
    assert report.hit_rate.hits == 2 and report.hit_rate.n == 3  # q3's (wrong) gold evidence is not retrieved
    rows = [json.loads(line) for line in records.read_text().splitlines()]
    assert sorted(r["key"] for r in rows) == sorted(f"{m}/{q.id}" for m in ("closed-book", "retrieval")
                                                    for q in QUESTIONS)
    q1 = next(r for r in rows if r["key"] == "retrieval/q1")
    assert q1["retrieved_ids"] == ["water"] and q1["context_ids"] == ["water"] and q1["raw_answer"] == "Answer: (b)"
    assert q1["letter"] == "B" and q1["correct"] is True and q1["evidence_hit"] is True and q1["how"] == "marker"
    assert next(r for r in rows if r["key"] == "closed-book/q1")["evidence_hit"] is None
    # the options are in the prompt, lettered
    assert "A. 0 C\nB. 100 C\nC. 1538 C" in llm.calls[0].messages[-1]["content"]


def test_rerun_resumes_without_duplicates_and_refuses_other_settings(tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    answer_questions(QUESTIONS[:2], ScriptedLLM(oracle), datastore=store(), config=RAGConfig(k=1), records=records)
    llm = ScriptedLLM(oracle)
    report = answer_questions(QUESTIONS, llm, datastore=store(), config=RAGConfig(k=1), records=records)
    assert len(llm.calls) == 2 and report.run["answered"] == 2 and report.run["resumed"] == 4
    assert report.questions == 3 and report.modes["retrieval"].accuracy.n == 3
    keys = [json.loads(line)["key"] for line in records.read_text().splitlines()]
    assert len(keys) == len(set(keys)) == 6
    again = ScriptedLLM(oracle)
    answer_questions(QUESTIONS, again, datastore=store(), config=RAGConfig(k=1), records=records)
    assert again.calls == []  # nothing left to ask
    with pytest.raises(DataError, match=r"records.jsonl:1: signature: these records were made with other settings"):
        answer_questions(QUESTIONS, ScriptedLLM(oracle), datastore=store(), config=RAGConfig(k=2), records=records)


class CrashingLLM(BaseLLM):
    """Answers ``n`` requests, then fails the job (a crash mid-run); or leaves some requests unanswered."""

    model = "scripted"

    def __init__(self, crash_after: int | None = None, unanswered: str | None = None) -> None:
        self.crash_after, self.unanswered, self.answered = crash_after, unanswered, 0

    async def achat(self, request: ChatRequest) -> ChatResult:
        if self.crash_after is not None and self.answered >= self.crash_after:
            await asyncio.sleep(0.05)  # the answers before the crash arrive first, as from a real server
            raise RuntimeError("killed")
        self.answered += 1
        if self.unanswered and self.unanswered in request.messages[-1]["content"]:
            return ChatResult(request, text=None, error="retries exhausted")
        return ChatResult(request, text=oracle(request))


def test_crash_mid_run_then_rerun_completes_each_answer_once(tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    with pytest.raises(RuntimeError, match="killed"):
        answer_questions(QUESTIONS, CrashingLLM(crash_after=2), datastore=store(), config=RAGConfig(k=1),
                         records=records)
    assert len(records.read_text().splitlines()) == 2
    with open(records, "a") as fh:
        fh.write('{"key": "retrieval/q3", "torn')  # a line cut by the crash
    report = answer_questions(QUESTIONS, CrashingLLM(), datastore=store(), config=RAGConfig(k=1), records=records)
    keys = [json.loads(line)["key"] for line in records.read_text().splitlines()]
    assert len(keys) == len(set(keys)) == 6 and report.run["answered"] == 4 and report.run["resumed"] == 2
    assert report.modes["retrieval"].accuracy.correct == 3


def test_unanswered_requests_are_not_recorded_and_are_retried(tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    report = answer_questions(QUESTIONS, CrashingLLM(unanswered="Iron melting"), datastore=store(),
                              config=RAGConfig(k=1), records=records)
    assert report.run["failed"] == 2 and len(records.read_text().splitlines()) == 4
    report = answer_questions(QUESTIONS, CrashingLLM(), datastore=store(), config=RAGConfig(k=1), records=records)
    assert report.run["answered"] == 2 and report.run["failed"] == 0


def test_window_and_cap_limit_the_prompt_and_cot_asks_for_reasoning() -> None:
    long_docs = [Document(f"d{i}", "boil " + "filler words here " * 300, f"T{i}") for i in range(3)]
    datastore = Datastore.from_documents(BM25Retriever().index(long_docs), long_docs, "long")
    llm = ScriptedLLM(lambda r: "Answer: A")
    q = Question("q", "boil?", ("yes", "no"), 0)
    report = answer_questions([q], llm, datastore=datastore, config=RAGConfig(k=3, doc_chars=800,
                              chain_of_thought=True, context_window=1024, modes=("retrieval",)))
    prompt = llm.calls[0].messages[-1]["content"]
    assert "step by step" in prompt and llm.calls[0].sampling.max_tokens == 384
    # (1024 - 384 - 48) tokens * 3 chars: about 1776 characters for the whole prompt, so two capped documents
    assert len(prompt) + len(llm.calls[0].messages[0]["content"]) <= (1024 - 384 - 48) * 3
    assert "[2] T" in prompt and "[3] T" not in prompt
    assert report.settings["context_window"] == 1024 and report.modes["retrieval"].accuracy.correct == 1


class Detailed:
    """A searcher with search_detailed (what a Pipeline with rewriting reports), per the w10 contract."""

    def __init__(self) -> None:
        self.inner = BM25Retriever().index(DOCS)

    def search_detailed(self, queries, k=1000):  # type: ignore[no-untyped-def]
        from types import SimpleNamespace

        return SimpleNamespace(run=self.inner.search(queries, k=k), rewrites={q.id: q.text + "?" for q in queries},
                               compute={}, seconds={"rewrite": 0.5})


def test_search_detailed_is_used_and_rewrites_recorded(tmp_path: Path) -> None:
    records = tmp_path / "r.jsonl"
    report = answer_questions(QUESTIONS[:1], ScriptedLLM(oracle), datastore=Datastore.from_documents(Detailed(), DOCS, "toy"), config=RAGConfig(k=1, modes=("retrieval",)), records=records)
    row = json.loads(records.read_text())
    assert row["rewrite"] == QUESTIONS[0].text + "?" and report.modes["retrieval"].accuracy.correct == 1


def test_retrieval_without_a_datastore_and_duplicate_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="datastore"):
        answer_questions(QUESTIONS, ScriptedLLM(oracle))
    with pytest.raises(ValueError, match="unique"):
        answer_questions([QUESTIONS[0], QUESTIONS[0]], ScriptedLLM(oracle), config=RAGConfig(modes=("closed-book",)))
