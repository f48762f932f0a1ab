"""``/rag``: answer a multiple-choice question from the index's top-k documents with the server's LLM
(``reasonir.rag.answer_question``; the reader is the embedded SmolLM2 unless the server was given ``--llm-*``)."""
from __future__ import annotations

from typing import Any

from reasonir.serve.service import SearchService


class BadRagRequest(ValueError):
    """A request the reader cannot answer (HTTP 422), e.g. fewer than two choices."""


def answer(service: SearchService, question: str, choices: list[str] | None, k: int) -> dict[str, Any]:
    from reasonir.rag import Datastore, answer_question

    if not choices or len(choices) < 2:
        raise BadRagRequest("give at least two choices: /rag answers multiple-choice questions with a letter")
    documents = service.documents
    datastore = Datastore(service.retriever, lambda ids: {i: documents[i] for i in ids if i in documents},
                          str(service.index_dir))
    return answer_question(datastore, question, choices, service.get_llm(), k=k)
