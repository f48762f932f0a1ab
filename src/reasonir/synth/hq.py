"""HQ (hard queries), ReasonIR's first recipe: analyse the seed, then write scenario-based reasoning questions.

Turn 1 (``hq_analysis``): the document's domain, key concepts and the problem-solving patterns that use them.
Turn 2 (``hq_query``), in the same conversation: standalone questions the document helps answer without being
named. The seed document is each question's positive. A third turn (``negatives.written_request``) may follow.
"""
from __future__ import annotations

import json

from reasonir.llm.types import ChatRequest, Message
from reasonir.synth import llmcall
from reasonir.synth.config import SynthConfig
from reasonir.synth.prompts import Prompts
from reasonir.synth.seeds import Seed

ANALYSIS_SCHEMA = {
    "type": "object",
    "properties": {
        "domain": {"type": "string", "minLength": 1},
        "key_concepts": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 6},
        "patterns": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 4},
    },
    "required": ["domain", "key_concepts", "patterns"],
}


def questions_schema(n: int) -> dict:
    return llmcall.string_list("questions", n, n, min_length=10)


def analysis_messages(seed: Seed, prompts: Prompts) -> list[Message]:
    return [{"role": "system", "content": prompts.texts["system"]},
            {"role": "user", "content": prompts.render("hq_analysis", document=seed.framed())}]


def analysis_request(seed: Seed, prompts: Prompts, config: SynthConfig) -> ChatRequest:
    return llmcall.request(analysis_messages(seed, prompts), ANALYSIS_SCHEMA, config.hq.max_tokens_analysis,
                           "hq.analysis", config.temperature, config.seed)


def parse_analysis(value: object) -> dict:
    domain = str(value["domain"]).strip()  # type: ignore[index]
    if not domain:
        raise ValueError("'domain' is empty")
    return {"domain": domain, "key_concepts": llmcall.strings(value, "key_concepts"),
            "patterns": llmcall.strings(value, "patterns")}


def questions_messages(seed: Seed, prompts: Prompts, analysis: dict, n: int) -> list[Message]:
    """The analysis conversation continued: the model's analysis as its own turn, then the question prompt."""
    return [*analysis_messages(seed, prompts),
            {"role": "assistant", "content": json.dumps(analysis, ensure_ascii=False)},
            {"role": "user", "content": prompts.render("hq_query", n=n)}]


def questions_request(seed: Seed, prompts: Prompts, config: SynthConfig, analysis: dict) -> ChatRequest:
    n = config.hq.queries_per_seed
    return llmcall.request(questions_messages(seed, prompts, analysis, n), questions_schema(n),
                           config.hq.max_tokens_query * n, "hq.query", config.temperature, config.seed)


def parse_questions(value: object) -> list[str]:
    return llmcall.strings(value, "questions")
