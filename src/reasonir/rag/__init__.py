"""Retrieval-augmented question answering: does a retriever help a reader answer? Closed-book against retrieval.

Multiple-choice questions (MMLU, GPQA, a generic JSONL, SciFact claims as supported/contradicted) are answered by
an LLM through ``reasonir.llm`` twice: from the question alone, and with the top ``k`` documents a reasonir index
returns. The report gives accuracy per mode and subject with Wilson intervals, the paired change with a bootstrap
interval and McNemar test, how many outputs were read as a letter, and, for questions with gold evidence
(SciFact), how often that evidence was retrieved. The CLI is ``reasonir rag``.

Example (see ``runner`` for a complete run with a scripted reader):
    >>> extract_answer("Let me check A and B first... Final answer: (d)", 4).letter
    'D'
    >>> [round(x, 2) for x in wilson(50, 100)]
    [0.4, 0.6]

With the embedded SmolLM2 and an index made by ``reasonir index``::

    from reasonir.llm import load_llm
    with load_llm() as llm:
        qs = load_questions("../shared/data/mmlu/test/anatomy_test.csv").questions[:20]
        report = answer_questions(qs, llm, datastore=Datastore.from_index("idx"), records="records.jsonl")
        print(report.to_text())
"""
from __future__ import annotations

from reasonir.rag.context import ContextBlock, join_documents
from reasonir.rag.parse import ParsedAnswer, extract_answer
from reasonir.rag.prompts import PromptError, Prompts, load_prompts
from reasonir.rag.questions import Question, QuestionFormat, QuestionSet, load_questions
from reasonir.rag.report import RAGReport, mcnemar_exact, paired_bootstrap, summarize, wilson
from reasonir.rag.runner import Datastore, Mode, RAGConfig, answer_question, answer_questions, retrieve_ids

__all__ = [
    "ContextBlock", "Datastore", "Mode", "ParsedAnswer", "PromptError", "Prompts", "Question", "QuestionFormat",
    "QuestionSet", "RAGConfig", "RAGReport", "answer_question", "answer_questions", "extract_answer", "join_documents", "load_prompts",
    "load_questions", "mcnemar_exact", "paired_bootstrap", "retrieve_ids", "summarize", "wilson",
]
