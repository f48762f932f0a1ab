"""The label stage, between synthesize and train: a teacher's scores on each training row, for distillation.

    synthesize (reasonir.synth) -> label (reasonir.label) -> train (reasonir.train) -> evaluate

``reasonir label rows.jsonl --corpus CORPUS --out labelled.jsonl`` (or :func:`label_rows`) reads the rows the
synthesizer wrote, lets the teacher (:class:`Teacher`, by default the hybrid of BM25 and the base encoder; GPL, Wang
et al., 2022) score each row's positive, its own negatives and documents sampled from the teacher's top of the
corpus, drops rows whose positive the teacher cannot place in its top ``keep_k``, and writes the scores into each
row (``meta.pos_scores`` / ``meta.neg_scores``), which ``reasonir train`` reads as distillation targets.

Example:
    >>> from reasonir.data import Document, TrainingRow
    >>> docs = [Document("a", "cats purr when content"), Document("b", "dogs bark"), Document("c", "cows moo")]
    >>> report = label_rows([TrainingRow("why do cats purr", ["cats purr when content"])], docs,
    ...                     TeacherConfig(kind="bm25", candidates=3, pool=2))
    >>> report.summary()["rows_out"], len(report.rows[0].meta["neg_scores"])
    (1, 2)
"""
from __future__ import annotations

from reasonir.label.rows import LabelReport, label_rows
from reasonir.label.teacher import Teacher, TeacherConfig, TeacherKind

__all__ = ["LabelReport", "Teacher", "TeacherConfig", "TeacherKind", "label_rows"]
