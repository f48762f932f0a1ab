"""VL (varied-length queries), ReasonIR's second recipe: brainstorm tasks with long queries, then write examples.

Stage 1 (``vl_brainstorm``): retrieval tasks, in the seed document's subject area, whose queries are long texts.
Stage 2 (``vl_example``): per task, a query and a positive, each of a target length sampled from
``VLConfig.length_words`` (300-2000 words by default), written to be independent with little word overlap.
The seed document only sets the subject area; it is not the positive.
"""
from __future__ import annotations

import hashlib
import random

from reasonir.llm.types import ChatRequest, Message
from reasonir.synth import llmcall
from reasonir.synth.config import SynthConfig
from reasonir.synth.prompts import Prompts
from reasonir.synth.seeds import Seed

CHARS_PER_TARGET_WORD = 2  # schema floor: 2 characters per target word, about 35-40% of the target in words


def example_schema(query_words: int, positive_words: int) -> dict:
    """JSON schema for one example; ``minLength`` keeps a model (and a grammar-constrained small one) from closing
    its texts after one sentence, while a model that writes the asked length is never near the floor."""
    return {"type": "object",
            "properties": {"query": {"type": "string", "minLength": CHARS_PER_TARGET_WORD * query_words},
                           "positive": {"type": "string", "minLength": CHARS_PER_TARGET_WORD * positive_words}},
            "required": ["query", "positive"]}


def brainstorm_request(seed: Seed, prompts: Prompts, config: SynthConfig) -> ChatRequest:
    n = config.vl.tasks_per_seed
    messages = [{"role": "system", "content": prompts.texts["system"]},
                {"role": "user", "content": prompts.render("vl_brainstorm", document=seed.framed(), n=n)}]
    return llmcall.request(messages, llmcall.string_list("tasks", n, n, min_length=10),
                           config.vl.max_tokens_brainstorm, "vl.brainstorm", config.temperature, config.seed)


def parse_tasks(value: object) -> list[str]:
    return llmcall.strings(value, "tasks")


def target_lengths(seed_id: str, index: int, config: SynthConfig) -> tuple[int, int]:
    """(query words, positive words), sampled uniformly from the range; the same for the same seed and index,
    so a resumed run asks for exactly what the interrupted one did."""
    lo, hi = config.vl.length_words
    key = hashlib.sha256(f"{config.seed}:{seed_id}:{index}".encode()).digest()
    rng = random.Random(int.from_bytes(key[:8], "big"))
    return rng.randint(lo, hi), rng.randint(lo, hi)


def example_messages(task: str, query_words: int, positive_words: int, prompts: Prompts) -> list[Message]:
    return [{"role": "system", "content": prompts.texts["system"]},
            {"role": "user", "content": prompts.render("vl_example", task=task, query_words=query_words,
                                                       positive_words=positive_words)}]


def example_request(task: str, query_words: int, positive_words: int, prompts: Prompts,
                    config: SynthConfig) -> ChatRequest:
    budget = int((query_words + positive_words) * config.vl.tokens_per_word) + 64
    return llmcall.request(example_messages(task, query_words, positive_words, prompts),
                           example_schema(query_words, positive_words),
                           min(budget, config.vl.max_tokens_example), "vl.example", config.temperature, config.seed)


def parse_example(value: object) -> tuple[str, str]:
    query, positive = str(value["query"]).strip(), str(value["positive"]).strip()  # type: ignore[index]
    if not query or not positive:
        raise ValueError("empty query or positive")
    return query, positive
