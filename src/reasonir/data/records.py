from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    title: str = ""


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    excluded_ids: tuple[str, ...] = ()


@dataclass
class Dataset:
    """A corpus, queries and graded relevance judgements (qrels[qid][docid] = grade)."""

    documents: list[Document]
    queries: list[Query]
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)


DEV_SPLIT = "dev"  # meta["split"] of pseudo-dev rows (see reasonir.synth.devset)


@dataclass
class TrainingRow:
    """One contrastive training example, in the JSONL layout FlagEmbedding users know.

    ``pos`` holds the positives (the seed document for HQ rows), ``neg`` the hard negatives (LLM-written and
    mined), ``instruction`` the task instruction prepended to the query at training time, ``kind`` where the row
    came from ("hq", "vl" or "public"), ``seed_id`` the corpus id of the seed document, ``meta`` anything else.
    """

    query: str
    pos: list[str]
    neg: list[str] = field(default_factory=list)
    instruction: str = ""
    kind: str = "public"
    seed_id: str | None = None
    meta: dict = field(default_factory=dict)

    @property
    def is_dev(self) -> bool:
        """A pseudo-dev row (``meta["split"] == "dev"``): synthesized to judge models, never trained on."""
        return self.meta.get("split") == DEV_SPLIT
