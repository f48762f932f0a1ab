"""Request and response bodies of the HTTP API (they are also its OpenAPI schema).

Requests are strict: a number must be a JSON number and a switch a JSON boolean (``"k": "5"``, ``"k": true`` and
``"rewrite": "yes"`` are refused, not coerced), unknown fields are refused, and a query must hold more than
whitespace.

Example:
    >>> SearchRequest.model_validate({"query": "vitamin D", "k": 3}).k
    3
    >>> SearchRequest.model_validate({"query": "vitamin D", "k": "3"})
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for SearchRequest
    k
      Input should be a valid integer [type=int_type, input_value='3', input_type=str]
    ...
"""
from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from reasonir.serve.service import Rerank

# Hard ceilings of the schema; a server's own, usually lower, limits (ServeConfig) are checked per request.
_SCHEMA_MAX_K, _SCHEMA_MAX_QUERY = 10_000, 1_000_000
# strict: no coercion of strings or booleans to numbers, or of strings to booleans; extra="forbid": an unknown
# field (a path, a model name) is an error, not ignored
_STRICT = ConfigDict(strict=True, extra="forbid")


def _not_blank(text: str) -> str:
    if not text.strip():  # a blank query would be answered with arbitrary documents
        raise PydanticCustomError("blank", "must contain more than whitespace")
    return text


Text = Annotated[str, AfterValidator(_not_blank)]


class SearchRequest(BaseModel):
    model_config = _STRICT

    query: Text = Field(min_length=1, max_length=_SCHEMA_MAX_QUERY, description="the query text")
    k: int = Field(10, ge=1, le=_SCHEMA_MAX_K, description="how many documents to return (at most the server's max_k)")
    rewrite: bool = Field(False, description="rewrite the query with the LLM before retrieval (needs the server's LLM)")
    rerank: Rerank = Field("none", description="rerank the top results: llm needs the server's LLM, cross-encoder a "
                                               "server started with --cross-encoder (GET /health lists what it has)")


class HitOut(BaseModel):
    rank: int
    id: str
    score: float
    title: str
    snippet: str


class SearchResponse(BaseModel):
    query: str
    k: int
    results: list[HitOut]
    rewritten_query: str | None = Field(None, description="what was searched for, when rewriting is on")
    compute: dict[str, dict] = Field(default_factory=dict,
                                     description="per stage: prompt/completion/encoded tokens and FLOPs, when known")
    timings_ms: dict[str, float] = Field(description="queue, search (the whole batch), stages, total; batch_size")


class DocumentOut(BaseModel):
    id: str
    title: str
    text: str


class RagRequest(BaseModel):
    model_config = _STRICT

    question: Text = Field(min_length=1, max_length=_SCHEMA_MAX_QUERY)
    choices: list[Text] | None = Field(None, max_length=26, description="answer options, lettered A, B, C...")
    k: int = Field(3, ge=1, le=_SCHEMA_MAX_K, description="documents given to the reader")


class Features(BaseModel):
    rewrite: bool = Field(description="whether rewrite=true can be asked for")
    rerank: list[Rerank] = Field(description="the rerank values this server answers")
    rag: bool = Field(description="whether /rag has a reader")


class ErrorBody(BaseModel):
    status: int
    type: str
    message: str
    details: list[dict] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody

