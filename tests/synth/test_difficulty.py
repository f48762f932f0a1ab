from __future__ import annotations

import json

from conftest import SCIFACT, needs

from reasonir.data import TrainingRow, write_training_rows
from reasonir.synth.difficulty import difficulty_of, difficulty_report, public_rows


def rows():
    easy = TrainingRow("why does salt melt road ice", ["Salt lowers the freezing point of water on roads."],
                       ["Sand gives tyres grip."], kind="hq", meta={"neg_source": ["written"]})
    hard = TrainingRow("salt road ice melting", ["Freezing-point depression explains de-icing chemistry."],
                       ["Road salt on ice: melting salt for roads.", "Bridges freeze first."], kind="hq",
                       meta={"neg_source": ["mined", "written"]})
    vl = TrainingRow("a long story about tides and the moon", ["The moon pulls the ocean into two bulges."],
                     ["Moon landings and tides of history: a story."], kind="vl", meta={"neg_source": ["written"]})
    return [easy, hard, vl]


def test_error_rate_is_the_share_of_rows_with_a_negative_above_the_positive():
    out = difficulty_of(rows(), retrievers=("bm25",))
    assert out["hq"]["n"] == 2 and out["hq"]["bm25"] == 0.5
    assert out["hq"]["n_mined"] == 1 and out["hq"]["bm25_mined"] == 1.0
    assert out["hq"]["bm25_written"] == 0.0
    assert out["vl"]["bm25"] == 1.0


@needs(SCIFACT)
def test_public_style_set_from_scifact_train_claims():
    pub = public_rows(SCIFACT, n=15, negatives=2)
    assert len(pub) == 15 and all(len(r.neg) == 2 and r.pos[0] not in r.neg for r in pub)
    rate = difficulty_of(pub, retrievers=("bm25",))["public"]["bm25"]
    assert 0.0 <= rate < 0.5  # rank-window negatives rarely beat the cited abstract under BM25


@needs(SCIFACT)
def test_report_beside_the_public_set(tmp_path):
    path = write_training_rows(rows(), tmp_path / "rows.jsonl")
    report = difficulty_report(path, retrievers=("bm25",), public=SCIFACT, public_n=10)
    text = report.format()
    assert "hq" in text and "public" in text and "bm25 error" in text
    assert json.loads(json.dumps(report.as_dict()))["public"]["public"]["n"] == 10
