"""VL (varied-length queries), ReasonIR's second recipe: long queries (300 to 2,000 words) with their positives.

``structured`` style, as the paper writes it: brainstorm ``VLConfig.candidates`` retrieval tasks whose queries are
long texts (``vl_brainstorm``), then write one (query, positive) example per task (``vl_example``): every brainstormed
task is used. ``small`` style: no brainstorm; each candidate is a long first-person message about a problem the seed
document helps with (``small/vl_query``), and the seed document is its positive (a 135M model's own long positives
mostly copied its query).

Target lengths are sampled from ``VLConfig.length_words`` and scaled down to what the LLM's context window leaves
after the prompt (``fit_lengths``); the report shows the lengths actually reached.
"""
from __future__ import annotations

import hashlib
import random

from reasonir.llm.types import ChatRequest, Message
from reasonir.synth import llmcall, plain
from reasonir.synth.config import SynthConfig
from reasonir.synth.prompts import Prompts
from reasonir.synth.seeds import Seed

CHARS_PER_TARGET_WORD = 2  # schema floor: 2 characters per target word, about 35-40% of the target in words
MIN_TARGET_WORDS = 60  # below this a "long" query is not long; a window that leaves less gets no VL request


def example_schema(query_words: int, positive_words: int) -> dict:
    """JSON schema for one example; ``minLength`` keeps a model (and a grammar-constrained small one) from closing
    its texts after one sentence, while a model that writes the asked length is never near the floor."""
    return {"type": "object",
            "properties": {"query": {"type": "string", "minLength": CHARS_PER_TARGET_WORD * query_words},
                           "positive": {"type": "string", "minLength": CHARS_PER_TARGET_WORD * positive_words}},
            "required": ["query", "positive"]}


def brainstorm_request(seed: Seed, prompts: Prompts, config: SynthConfig) -> ChatRequest:
    n = config.vl.candidates
    messages = [{"role": "system", "content": prompts.texts["system"]},
                {"role": "user", "content": prompts.render("vl_brainstorm", document=seed.framed(), n=n)}]
    return llmcall.request(messages, llmcall.string_list("tasks", n, n, min_length=10),
                           config.vl.max_tokens_brainstorm, "vl.brainstorm", config,
                           llmcall.item_seed(config.seed, seed.id, "vl", "brainstorm"))


def parse_tasks(value: object) -> list[str]:
    return llmcall.strings(value, "tasks")


def target_lengths(seed_id: str, index: int, config: SynthConfig) -> tuple[int, int]:
    """(query words, positive words), sampled uniformly from the range; the same for the same seed and index,
    so a resumed run asks for exactly what the interrupted one did."""
    lo, hi = config.vl.length_words
    key = hashlib.sha256(f"{config.seed}:{seed_id}:{index}".encode()).digest()
    rng = random.Random(int.from_bytes(key[:8], "big"))
    return rng.randint(lo, hi), rng.randint(lo, hi)


def fit_lengths(query_words: int, positive_words: int, prompt_tokens: int, context_window: int | None,
                tokens_per_word: float, writes_positive: bool) -> tuple[int, int] | None:
    """Scale the targets down, keeping their ratio, so the answer fits the window after the prompt; None when even
    ``MIN_TARGET_WORDS`` does not fit.

    >>> fit_lengths(1500, 1000, 600, 2048, 1.4, writes_positive=False)
    (987, 0)
    >>> fit_lengths(400, 300, 200, None, 1.4, writes_positive=True)
    (400, 300)
    """
    positive_words = positive_words if writes_positive else 0
    if not context_window:
        return query_words, positive_words
    room_words = int((context_window - prompt_tokens - 64) / tokens_per_word)  # 64: chat template and stop tokens
    wanted = query_words + positive_words
    if wanted > room_words:
        scale = room_words / wanted
        query_words, positive_words = int(query_words * scale), int(positive_words * scale)
    if query_words < MIN_TARGET_WORDS:
        return None
    return query_words, positive_words


def example_messages(task: str, query_words: int, positive_words: int, prompts: Prompts) -> list[Message]:
    return [{"role": "system", "content": prompts.texts["system"]},
            {"role": "user", "content": prompts.render("vl_example", task=task, query_words=query_words,
                                                       positive_words=positive_words)}]


def query_messages(seed: Seed, query_words: int, prompts: Prompts) -> list[Message]:
    return [{"role": "system", "content": prompts.texts["system"]},
            {"role": "user", "content": prompts.render("vl_query", document=seed.prompt_text, query_words=query_words)}]


def answer_budget(query_words: int, positive_words: int, config: SynthConfig) -> int:
    return min(int((query_words + positive_words) * config.vl.tokens_per_word) + 64, config.vl.max_tokens_example)


def candidate_request(messages: list[Message], query_words: int, positive_words: int, seed: Seed,
                      config: SynthConfig, candidate: int, structured: bool) -> ChatRequest:
    schema = example_schema(query_words, positive_words) if structured else None
    return llmcall.request(messages, schema, answer_budget(query_words, positive_words, config),
                           "vl.example" if structured else "vl.query", config,
                           llmcall.item_seed(config.seed, seed.id, "vl", candidate))


def parse_example(value: object) -> tuple[str, str]:
    query, positive = str(value["query"]).strip(), str(value["positive"]).strip()  # type: ignore[index]
    if not query or not positive:
        raise ValueError("empty query or positive")
    return query, positive


def parse_message(value: object) -> str:
    text = plain.passage(str(value))
    if not text:
        raise ValueError("empty message")
    return text
