"""Pseudo-labels: the teacher scores each row's positive against a list of corpus documents, for distillation.

A small LLM writes many questions that are vague, off target or answered by several documents; one-hot labels
("the seed document is right, everything else is wrong") then teach the encoder noise, and filtering them away
leaves few rows the encoder did not already get right. GPL (Wang et al., NAACL 2022) instead lets a stronger
teacher score each generated query against its positive and against mined candidates, and trains the student to
reproduce the teacher's scores (the teacher: :mod:`reasonir.label.teacher`).

Each labelled row keeps its query and positive; its negatives become the row's own negatives (written and mined,
scored too) followed by documents sampled from the teacher's top ``pool`` until there are ``candidates - 1``; the
teacher's scores go into FlagEmbedding's ``pos_scores`` / ``neg_scores`` (kept in ``meta``), which
``reasonir train`` reads as distillation targets. A row whose positive the teacher ranks below ``keep_k`` in the
corpus is dropped (the teacher's round-trip check). Texts that are not corpus documents (LLM-written positives and
negatives) are indexed beside the corpus so the teacher can score them; candidates come from the corpus only.

Example:
    >>> from reasonir.data import Document
    >>> from reasonir.data.records import TrainingRow
    >>> docs = [Document("a", "cats purr when they are content and relaxed"),
    ...         Document("b", "dogs bark at strangers near the house"),
    ...         Document("c", "parrots copy the words they hear often")]
    >>> rows = [TrainingRow("why do cats purr", ["cats purr when they are content and relaxed"])]
    >>> labelled = label_rows(rows, docs, TeacherConfig(kind="bm25", candidates=3, pool=2))
    >>> len(labelled.rows[0].neg), labelled.rows[0].meta["teacher_rank"]
    (2, 1)
"""
from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from reasonir.data.records import Document, TrainingRow
from reasonir.label.teacher import Teacher, TeacherConfig
from reasonir.retrieve.base import document_text
from reasonir.retrieve.scoring import rank_of


@dataclass
class LabelReport:
    rows: list[TrainingRow]
    rows_in: int  # rows to label (pseudo-dev rows not counted)
    dropped: Counter = field(default_factory=Counter)
    dev_rows: int = 0  # pseudo-dev rows passed through (at the end of ``rows``)
    teacher_ranks: list[int] = field(default_factory=list)  # of every row read, kept or not

    def summary(self) -> dict:
        ranks = np.asarray(self.teacher_ranks or [0])
        return {"rows_in": self.rows_in, "rows_out": len(self.rows) - self.dev_rows, "dev_rows": self.dev_rows,
                "dropped": dict(self.dropped),
                "positive_teacher_rank": {f"<={k}": int((ranks <= k).sum()) for k in (1, 10, 100)}}


def _row_rng(seed: int, row: TrainingRow, number: int) -> np.random.Generator:
    key = f"{seed}:{row.seed_id}:{number}:{row.query}".encode()
    return np.random.default_rng(int.from_bytes(hashlib.sha256(key).digest()[:8], "little"))


def label_rows(rows: Sequence[TrainingRow], documents: Sequence[Document],
               config: TeacherConfig | None = None) -> LabelReport:
    """Teacher scores for each row's positive and ``candidates - 1`` negatives (see the module doc). Pseudo-dev
    rows (``TrainingRow.is_dev``) pass through unscored and unselected: the teacher is one of the rankers they judge.
    """
    config = config or TeacherConfig()
    dev = [r for r in rows if r.is_dev]
    rows = [r for r in rows if not r.is_dev]
    texts = [document_text(d) for d in documents]
    # rows carry documents in the "row" layout (title, newline, body), the teacher scores the "search" layout: both
    # name the same corpus document, so its score is the positive's and it is never sampled as a negative
    position = {t: i for i, t in enumerate(texts)}
    for i, doc in enumerate(documents):
        position.setdefault(document_text(doc, "row"), i)
    ids = {d.id: i for i, d in enumerate(documents)}

    def corpus_positive(row: TrainingRow) -> int | None:
        """The positive's corpus document: ``meta.positive_id``, or an HQ row's seed (files made before the id was
        recorded); None for a positive the LLM wrote."""
        return ids.get(row.meta.get("positive_id") or (row.seed_id if row.kind == "hq" else None))

    extras: list[str] = []
    for row in rows:
        for text in (row.neg if corpus_positive(row) is not None else (row.pos[0], *row.neg)):
            if text not in position:
                position[text] = len(texts) + len(extras)
                extras.append(text)
    teacher = Teacher(documents, extras, config)
    all_texts = texts + extras
    report = LabelReport([], len(rows))
    n = len(texts)
    for start in range(0, len(rows), config.chunk):
        chunk = rows[start:start + config.chunk]
        scores = teacher.scores([r.query for r in chunk])
        for offset, (row, row_scores) in enumerate(zip(chunk, scores)):
            pos = corpus_positive(row)
            pos = position[row.pos[0]] if pos is None else pos
            corpus = row_scores[:n]
            rank = rank_of(corpus, row_scores[pos])  # among corpus documents (the positive may be one)
            report.teacher_ranks.append(rank)
            if config.keep_k is not None and rank > config.keep_k:
                report.dropped["teacher_rank"] += 1
                continue
            own = [position[t] for t in dict.fromkeys(row.neg) if position[t] != pos][: config.candidates - 1]
            taken = {pos, *own}
            pool = [int(j) for j in np.argsort(-corpus, kind="stable")[: config.pool + len(taken)]
                    if int(j) not in taken and texts[int(j)] != row.pos[0]][: config.pool]
            want = config.candidates - 1 - len(own)
            if len(pool) < want:
                report.dropped["too_few_candidates"] += 1
                continue
            rng = _row_rng(config.seed, row, start + offset)
            sampled = [pool[i] for i in sorted(rng.choice(len(pool), size=want, replace=False))]
            negatives = own + sampled
            meta = {**row.meta, "pos_scores": [round(float(row_scores[pos]), 5)],
                    "neg_scores": [round(float(row_scores[j]), 5) for j in negatives],
                    "teacher": config.describe(), "teacher_rank": rank}
            report.rows.append(replace(row, neg=[all_texts[j] for j in negatives], meta=meta))
    report.rows.extend(dev)
    report.dev_rows = len(dev)
    return report
