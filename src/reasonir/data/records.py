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
# meta["split"] of judge rows: every clean candidate of a training seed, kept to judge the models that never saw
# that seed (reasonir.evaluate.crossfit)
JUDGE_SPLIT = "judge"


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
        """A row synthesized to judge models and never trained on: a pseudo-dev row (``meta["split"] == "dev"``)
        or a judge row (``"judge"``)."""
        return self.meta.get("split") in (DEV_SPLIT, JUDGE_SPLIT)
