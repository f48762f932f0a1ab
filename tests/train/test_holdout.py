"""The label-free dev signals: held-out positive recall and, for teacher-scored rows, agreement with the teacher."""
from __future__ import annotations

import json

import pytest

from reasonir.data.records import TrainingRow
from reasonir.train.holdout import label_free_signals


def test_teacher_agreement_is_kendall_tau_against_the_student_order():
    from reasonir.models import load_encoder

    model = load_encoder()
    texts = ["Photosynthesis turns light, water and carbon dioxide into sugar in chloroplasts.",
             "Chlorophyll absorbs red and blue light.", "Volcanoes erupt molten rock.", "Stock markets fell today."]
    query = "how do plants make sugar from light"
    student = [float(v) for v in model.encode(texts, normalize_embeddings=True) @ model.encode(query,
                                                                                              normalize_embeddings=True)]
    assert student == sorted(student, reverse=True)  # the texts are written in the encoder's own order

    def row(scores):
        return TrainingRow(query, [texts[0]], texts[1:], meta={"pos_scores": scores[:1], "neg_scores": scores[1:]})

    same, reverse = row([0.9, 0.5, 0.2, 0.1]), row([0.1, 0.2, 0.5, 0.9])

    def agreement(held):  # (tau, teacher-scored rows) among the held-out rows' own texts
        return label_free_signals(model, held, held)[1:]

    unscored = TrainingRow(query, [texts[0]], texts[1:])
    assert agreement([same, unscored]) == (pytest.approx(1.0), 1)
    assert agreement([reverse]) == (pytest.approx(-1.0), 1)
    assert agreement([same, reverse]) == (pytest.approx(0.0), 2)
    assert agreement([unscored]) == (None, 0)


def test_training_on_teacher_scores_reports_the_agreement_before_and_after(tmp_path, tiny_bert):
    from reasonir.train import TrainConfig, fit
    from reasonir.train.card import read_summary

    rows = tmp_path / "labelled.jsonl"
    with open(rows, "w") as fh:
        for i in range(40):
            fh.write(json.dumps({"query": f"question {i}", "pos": [f"answer {i}"], "seed_id": str(i),
                                 "neg": [f"near miss {i}", f"far away {i}"],
                                 "meta": {"pos_scores": [0.9], "neg_scores": [0.6, 0.1]}}) + "\n")
    logged: list[str] = []
    result = fit(TrainConfig(data=[str(rows)], output_dir=tmp_path / "m", base_model=tiny_bert, batch_size=4,
                             query_max_length=16, document_max_length=16, max_steps=6, learning_rate=1e-3,
                             warmup_ratio=0.0, holdout=0.2, holdout_min_rows=8), log=logged.append)
    assert result.teacher_tau_rows == 8
    assert -1 <= result.teacher_tau_before <= 1 and -1 <= result.teacher_tau_after <= 1
    assert any("agreement with the teacher" in line and "->" in line for line in logged)
    assert read_summary(tmp_path / "m")["holdout"]["teacher_tau_after"] == result.teacher_tau_after
