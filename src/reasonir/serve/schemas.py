"""Request and response bodies of the HTTP API (they are also its OpenAPI schema)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Hard ceilings of the schema; a server's own, usually lower, limits (ServeConfig) are checked per request.
_SCHEMA_MAX_K, _SCHEMA_MAX_QUERY = 10_000, 1_000_000


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an unknown field (a path, a model name) is an error, not ignored

    query: str = Field(min_length=1, max_length=_SCHEMA_MAX_QUERY, description="the query text")
    k: int = Field(10, ge=1, le=_SCHEMA_MAX_K, description="how many documents to return (at most the server's max_k)")
    rewrite: bool = Field(False, description="rewrite the query with the LLM before retrieval")
    rerank: Literal["none", "llm", "cross-encoder"] = Field("none", description="rerank the top results")


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


class RagRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=_SCHEMA_MAX_QUERY)
    choices: list[str] | None = Field(None, max_length=26, description="answer options, lettered A, B, C...")
    k: int = Field(3, ge=1, le=_SCHEMA_MAX_K, description="documents given to the reader")


class ErrorBody(BaseModel):
    status: int
    type: str
    message: str
    details: list[dict] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody
