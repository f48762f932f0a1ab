"""Pseudo-labels: the teacher's scores, its round-trip drop, candidates from the corpus, texts outside it."""
from __future__ import annotations

import json

import numpy as np
import pytest

from reasonir.data import Document
from reasonir.data.records import TrainingRow
from reasonir.retrieve.base import document_text
from reasonir.label import TeacherConfig, label_rows


def _rows(corpus: list[Document]) -> list[TrainingRow]:
    return [TrainingRow(f"what explains {d.title.lower()}", [document_text(d)], kind="hq", seed_id=d.id)
            for d in corpus[:6]]


def test_bm25_teacher_scores_match_the_retrievers_own(corpus):
    from reasonir.retrieve import BM25Retriever

    rows = _rows(corpus)
    report = label_rows(rows, corpus, TeacherConfig(kind="bm25", candidates=3, pool=4, keep_k=None))
    assert len(report.rows) == len(rows) and report.rows_in == len(rows)
    bm25 = BM25Retriever().index(corpus)
    texts = [document_text(d) for d in corpus]
    for row in report.rows:
        scores = bm25.score_all(row.query)
        assert len(row.neg) == 2 and row.pos[0] not in row.neg
        expected = [scores[texts.index(t)] for t in (row.pos[0], *row.neg)]
        got = row.meta["pos_scores"] + row.meta["neg_scores"]
        assert got == pytest.approx(expected, abs=1e-4)
        top = set(np.argsort(-scores, kind="stable")[:5].tolist())  # the pool: top 4 besides the positive
        assert {texts.index(t) for t in row.neg} <= top


def test_hybrid_teacher_drops_rows_it_cannot_place_and_keeps_the_rows_own_negatives(corpus):
    rows = _rows(corpus)
    written = "A paragraph the LLM wrote about something near the topic but not answering the question at all."
    rows[0].neg.append(written)
    rows.append(TrainingRow("zebra crossing paint colours", [document_text(corpus[1])], kind="hq"))
    report = label_rows(rows, corpus, TeacherConfig(candidates=3, pool=4, keep_k=2))
    assert report.dropped["teacher_rank"] >= 1 and report.teacher_ranks[-1] > 2
    first = report.rows[0]
    assert first.neg[0] == written  # scored beside the corpus, kept first
    assert all(0.0 <= s <= 1.0 for s in first.meta["pos_scores"] + first.meta["neg_scores"])
    assert first.meta["teacher"].startswith("hybrid") and first.meta["teacher_rank"] <= 2
    assert report.summary()["rows_out"] == len(report.rows)


def test_labels_are_reproducible_and_depend_on_the_seed(corpus):
    rows = _rows(corpus)
    config = dict(kind="bm25", candidates=3, pool=6, keep_k=None)
    a = label_rows(rows, corpus, TeacherConfig(**config)).rows
    b = label_rows(rows, corpus, TeacherConfig(**config)).rows
    c = label_rows(rows, corpus, TeacherConfig(**config, seed=7)).rows
    assert [r.neg for r in a] == [r.neg for r in b]
    assert [r.neg for r in a] != [r.neg for r in c]


def test_cli_writes_rows_train_reads_as_distillation_targets(corpus, tmp_path, capsys):
    from reasonir.cli import main
    from reasonir.data import read_training_rows
    from reasonir.train.rows import teacher_scores

    corpus_path = tmp_path / "corpus.jsonl"
    corpus_path.write_text("".join(json.dumps({"_id": d.id, "title": d.title, "text": d.text}) + "\n" for d in corpus))
    rows_path = tmp_path / "rows.jsonl"
    rows_path.write_text("".join(json.dumps({"query": r.query, "pos": r.pos, "kind": "hq"}) + "\n"
                                 for r in _rows(corpus)))
    out = tmp_path / "labelled.jsonl"
    args = ["label", str(rows_path), "--corpus", str(corpus_path), "--out", str(out), "--teacher", "bm25",
            "--candidates", "3", "--pool", "4", "--keep-k", "0", "--output", "json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows_out"] == 6 and summary["teacher"] == "bm25"
    rows = read_training_rows(out)
    assert all(len(teacher_scores(r)) == 3 for r in rows)
    assert main(args) == 2  # never overwritten silently
    assert "--overwrite" in capsys.readouterr().err


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="candidates"):
        TeacherConfig(candidates=1)
    with pytest.raises(ValueError, match="pool"):
        TeacherConfig(candidates=8, pool=3)
    with pytest.raises(ValueError, match="teacher"):
        TeacherConfig(kind="cross")  # type: ignore[arg-type]


def test_a_positive_in_the_row_layout_is_its_corpus_document_never_a_sampled_negative(corpus):
    # synthesized rows carry their documents as "title, newline, body" and name the positive's corpus id; the
    # teacher must score that document as the positive and never sample it as a negative
    rows = [TrainingRow(f"what explains {d.title.lower()}", [document_text(d, "row")], kind="hq", seed_id=d.id,
                        meta={"positive_id": d.id}) for d in corpus[:6]]
    report = label_rows(rows, corpus, TeacherConfig(kind="bm25", candidates=4, pool=6, keep_k=None))
    from reasonir.retrieve import BM25Retriever

    bm25 = BM25Retriever().index(corpus)
    by_id = {d.id: d for d in corpus}
    for row in report.rows:
        own = by_id[row.seed_id]
        assert document_text(own) not in row.neg and document_text(own, "row") not in row.neg
        assert row.meta["pos_scores"][0] == pytest.approx(bm25.score_all(row.query)[corpus.index(own)], abs=1e-4)


def test_pseudo_dev_rows_pass_through_unlabelled(corpus):
    dev = TrainingRow("a held-out question", [document_text(corpus[0], "row")], kind="hq", seed_id=corpus[0].id,
                      meta={"split": "dev"})
    report = label_rows([*_rows(corpus), dev], corpus, TeacherConfig(kind="bm25", candidates=3, pool=4, keep_k=None))
    assert report.rows[-1] == dev and report.dev_rows == 1 and report.rows_in == 6
    assert report.summary()["dev_rows"] == 1
