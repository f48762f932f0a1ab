"""Settings for ``synthesize``, one dataclass per stage, each default saying where it comes from.

"ReasonIR" below is Shao et al., 2025 (ReasonIR: Training Retrievers for Reasoning Tasks); "NV-Retriever" is
Moreira et al., 2024 (positive-aware hard-negative mining).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Literal

from reasonir.llm.tokens import TOKENS_PER_WORD

Kind = Literal["hq", "vl"]
PromptStyle = Literal["auto", "small", "structured"]


@dataclass
class SeedConfig:
    """Which documents become seeds."""

    n: int | None = None  # keep the top N by score; None keeps every document at or above ``min_score``
    min_score: float | None = None  # keep only scores >= this (the judge scale is 0-5)
    min_words: int = 20  # drop very short documents (under about 20 words): too little to reason about
    # "auto": the LLM judge for capable endpoints, none for small models (a 135M model's 0-5 score is close
    # to noise and cost 40% of the prompt tokens); "none": candidates keep corpus order after shuffling
    judge: Literal["auto", "llm", "none"] = "auto"
    # With n set, judge at most n * candidates_per_seed documents, sampled with ``SynthConfig.seed``, so a
    # 5,000-document corpus does not cost 5,000 judge calls for 20 seeds. Our choice.
    candidates_per_seed: float = 3.0
    max_document_words: int = 1000  # longer documents are truncated in prompts (counted); fits a 2k-token window


@dataclass
class HQConfig:
    """Hard queries: analysis of the seed, then scenario-based reasoning questions (ReasonIR, HQ)."""

    # Promptagator (Dai et al., 2022) samples about 8 queries per document and keeps those passing a round-trip
    # check; InPars (Bonifacio et al., 2022) over-generates and keeps the best share. We sample ``candidates``
    # questions per seed in independent calls and keep the best ``queries_per_seed`` that pass every filter.
    # 12: on 80 SciFact seeds with SmolLM2, 8 candidates gave a kept HQ row for 56% of seeds and 12 for 76% at about
    # the same kept rows per minute (the prompt prefix is shared, so a candidate costs its ~50 generated tokens;
    # benchmarks/data/README.md, v5). Promptagator samples about 8.
    candidates: int = 12
    queries_per_seed: int = 1
    max_seeds: int | None = None  # HQ from the first this many seeds only (None: every seed)
    instruction: str = "Given a question that needs reasoning, retrieve documents that help answer it."
    max_tokens_analysis: int = 256
    max_tokens_query: int = 200  # structured style: a JSON list of questions
    # small style: one plain-text question of at most ~45 words. SmolLM2 otherwise rambles on to the budget (with
    # 200, the answers averaged 93 tokens and many ran to the cap), and generation is most of a candidate's cost
    max_tokens_question: int = 64


@dataclass
class VLConfig:
    """Varied-length queries: brainstorm tasks, then write (query, positive) of a sampled length (ReasonIR, VL)."""

    length_words: tuple[int, int] = (300, 2000)  # ReasonIR: VL queries are 300 to 2000 words long
    # Lengths are scaled down to what the LLM's context window leaves (``vl.fit_lengths``); the report shows the
    # lengths reached. Structured style brainstorms ``candidates`` tasks and writes one example per task (every
    # task is used); small style skips the brainstorm and writes ``candidates`` long queries about the seed.
    candidates: int = 2
    examples_per_seed: int = 1  # kept per seed, the best candidates that pass every filter
    max_seeds: int | None = None  # VL from the first this many seeds only (None: every seed); VL calls are long
    instruction: str = "Given a long description of a problem, retrieve documents that help solve it."
    max_tokens_brainstorm: int = 200
    tokens_per_word: float = TOKENS_PER_WORD  # budget per target word (reasonir.llm.tokens: SmolLM2/Llama BPE)
    max_tokens_example: int = 6000  # hard cap whatever the target length


@dataclass
class NegativeConfig:
    """Hard negatives: written by the LLM in a second turn, and mined from the corpus."""

    written: int = 1  # ReasonIR writes one hard negative per query in a second turn given query and positive
    mined: int = 1  # our default: one corpus negative beside the written one
    # The corpus ranker used for mining, round-trip consistency and false-negative checks: "dense" is the base
    # encoder (the model about to be trained, so round-trip asks "can the base model find it"), "bm25" needs no
    # encoding of the corpus.
    miner: Literal["bm25", "dense"] = "dense"
    dense_model: str | None = None  # None: the retrieval layer's default (all-MiniLM-L6-v2)
    skip_top: int = 20  # our default: ranks 1-20 are skipped, they hold most false negatives
    window: int = 30  # candidates come from ranks skip_top+1 .. skip_top+window
    # NV-Retriever's TopK-PercPos: a candidate is kept only if its score <= 95% of the positive's score.
    margin: float = 0.95
    near_duplicate_jaccard: float = 0.8  # word-set Jaccard at or above this to the positive = near-duplicate
    near_duplicate_cosine: float = 0.95  # same, for the dense miner's embedding cosine
    min_written_words: int = 25  # a written negative shorter than this is not a document
    max_tokens: int = 300


@dataclass
class FilterConfig:
    """Filters on every candidate row; each drop is counted in the report."""

    min_query_words: int = 5
    max_query_words: int = 3000
    min_positive_words: int = 20
    # A query that copies 13 consecutive words of its positive leaks it; 13-grams are the overlap unit of
    # GPT-3's contamination analysis (Brown et al., 2020).
    leak_span_words: int = 13
    # VL queries must reach this share of their target length (the example schema's minLength floor is about
    # 35-40% of it); raise it (e.g. 0.7) with a capable model.
    vl_min_length_ratio: float = 0.3
    # ... or at least this many words, whatever the target: SmolLM2 stops by itself after 200-300 words whatever
    # length it is asked for, so a share of a 900-word target dropped most of its long queries.
    # 200 words is still ten times an HQ question.
    vl_enough_words: int = 200
    # HQ questions must not refer to the document (ReasonIR's HQ prompt asks for standalone questions)
    drop_mentions_of_source: bool = True
    # Round-trip consistency (Promptagator): keep a query only if its positive ranks in the top k of the corpus
    # under ``negatives.miner``; None switches it off. 10: a query the base encoder cannot place near its
    # positive is usually off topic when a small model wrote it.
    roundtrip_k: int | None = 10
    # A query whose embedding has cosine >= this with a kept query is a near-duplicate (dense ranker only)
    near_duplicate_query_cosine: float = 0.92
    drop_filler: bool = True  # refusals and filler ("I am ready to...", "the given information"): filters.FILLER


@dataclass
class SynthConfig:
    """Everything ``synthesize`` needs besides documents, an LLM and an output path."""

    kinds: tuple[Kind, ...] = ("hq", "vl")
    seeds: SeedConfig = field(default_factory=SeedConfig)
    hq: HQConfig = field(default_factory=HQConfig)
    vl: VLConfig = field(default_factory=VLConfig)
    negatives: NegativeConfig = field(default_factory=NegativeConfig)
    filters: FilterConfig = field(default_factory=FilterConfig)
    prompts_dir: str | None = None  # a folder whose files replace the packaged prompts of the same name
    # "auto": small for small local models (the embedded SmolLM2, names with <= 2B parameters), structured for
    # capable endpoints; see ``styles.resolve_prompt_style``
    prompt_style: PromptStyle = "auto"
    # Sampling, not greedy: greedy decoding collapsed 33 of 60 SmolLM2 questions onto duplicates. Every
    # request carries its own seed derived from (seed, seed id, kind, candidate, stage), so a rerun or a resumed
    # run asks exactly the same requests (and the response cache answers them).
    temperature: float = 0.8
    top_p: float = 0.95
    seed: int = 0
    # Judge rows: every candidate of a training seed that passes the lexical filters (chosen by no ranker, so they
    # favour no model being judged) is also written as a judge row (``meta["split"] = "judge"``, no negatives, never
    # trained on). They cost no LLM request; ``adapt`` turns them on and scores each candidate model on the judge
    # rows of the seeds it never saw (reasonir.evaluate.crossfit), so every seed judges. Off by default here: a
    # plain synthesis writes training rows only.
    judge_rows: bool = False
    # Pseudo-dev seeds (synth.devset): this share of the seeds yields only dev rows (kept by BM25's round trip) that
    # judge models without labelled queries; 0 (the default since judge rows exist) switches it off. Dev seeds
    # cost training rows, and their BM25-placed queries are the lexically easy ones (issue 29).
    dev_share: float = 0.0
    # ... but only when the seeds give at least this many dev seeds: a handful of dev queries cannot vouch for any
    # change, so a small job trains on every seed instead (our choice)
    dev_min_seeds: int = 10
    # candidates sampled for a dev seed; the first that passes the lexical filters and BM25's round trip (top
    # ``filters.roundtrip_k``) is kept; our choice, 4 as the demo's HQ candidates
    dev_candidates: int = 4
    # seed chains in flight; the LLM layer applies its own request concurrency under this. An engine that batches
    # (the embedded openvino one, vLLM) fills its steps from them: the demo's synthesis took 108 s with 32 against 142
    # with 8, the same rows (benchmarks/results/synth_chains_amx.json); a remote API's concurrency queues the rest
    max_chains: int = 32

    def fingerprint(self, prompt_texts: dict[str, str] | None = None) -> str:
        """Hash of every setting that changes the output (not ``max_chains``), plus the prompt texts."""
        data = asdict(self)
        data.pop("max_chains")
        data.pop("prompts_dir")
        data["prompts"] = prompt_texts or {}
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=list).encode()).hexdigest()[:16]


def cap_max_tokens(config: SynthConfig, cap: int) -> None:
    """Lower every stage's answer budget to at most ``cap`` tokens (quick trials, small context windows)."""
    for stage, names in ((config.hq, ("max_tokens_analysis", "max_tokens_query", "max_tokens_question")),
                         (config.vl, ("max_tokens_brainstorm", "max_tokens_example")),
                         (config.negatives, ("max_tokens",))):
        for name in names:
            setattr(stage, name, min(getattr(stage, name), cap))
