"""HQ (hard queries), ReasonIR's first recipe: the seed document is the positive of reasoning questions about it.

``structured`` style, as the paper writes it: turn 1 (``hq_analysis``) works out the document's domain, key
concepts and the problem-solving patterns that use them; turn 2 (``hq_query``), in the same conversation, asks for a
standalone scenario-based question the document helps answer without naming it. ``small`` style: one short few-shot
plain-text prompt (``small/hq_query``) per question. Either way ``HQConfig.candidates`` questions are sampled in
independent calls (each with its own seed) and the selection step keeps the best.
"""
from __future__ import annotations

import json

from reasonir.llm.types import ChatRequest, Message
from reasonir.synth import llmcall, plain
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
QUESTIONS_SCHEMA = llmcall.string_list("questions", 1, 1, min_length=10)


def analysis_messages(seed: Seed, prompts: Prompts) -> list[Message]:
    return [{"role": "system", "content": prompts.texts["system"]},
            {"role": "user", "content": prompts.render("hq_analysis", document=seed.framed())}]


def analysis_request(seed: Seed, prompts: Prompts, config: SynthConfig) -> ChatRequest:
    return llmcall.request(analysis_messages(seed, prompts), ANALYSIS_SCHEMA, config.hq.max_tokens_analysis,
                           "hq.analysis", config, llmcall.item_seed(config.seed, seed.id, "hq", "analysis"))


def parse_analysis(value: object) -> dict:
    domain = str(value["domain"]).strip()  # type: ignore[index]
    if not domain:
        raise ValueError("'domain' is empty")
    return {"domain": domain, "key_concepts": llmcall.strings(value, "key_concepts"),
            "patterns": llmcall.strings(value, "patterns")}


def question_messages(seed: Seed, prompts: Prompts, analysis: dict | None) -> list[Message]:
    """The conversation that asks for one question: the analysis turn continued (structured), or one prompt."""
    if prompts.style == "small":
        return [{"role": "system", "content": prompts.texts["system"]},
                {"role": "user", "content": prompts.render("hq_query", document=seed.prompt_text)}]
    return [*analysis_messages(seed, prompts),
            {"role": "assistant", "content": json.dumps(analysis, ensure_ascii=False)},
            {"role": "user", "content": prompts.render("hq_query", n=1)}]


def question_request(seed: Seed, prompts: Prompts, config: SynthConfig, analysis: dict | None,
                     candidate: int) -> ChatRequest:
    small = prompts.style == "small"
    schema, budget = (None, config.hq.max_tokens_question) if small else (QUESTIONS_SCHEMA, config.hq.max_tokens_query)
    return llmcall.request(question_messages(seed, prompts, analysis), schema, budget,
                           "hq.query", config, llmcall.item_seed(config.seed, seed.id, "hq", candidate))


def parse_question(value: object) -> str:
    """The question of a structured (JSON) answer or of a small-style plain-text one."""
    if isinstance(value, str):
        text = plain.question(value)
        if not text:
            raise ValueError("no question in the answer")
        return text
    return llmcall.strings(value, "questions")[0]


def own_turn(query: str, style: str) -> str:
    """How the question appears as the model's own turn when the negatives turn continues the conversation."""
    return query if style == "small" else json.dumps({"questions": [query]}, ensure_ascii=False)
