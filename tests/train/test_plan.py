"""The training plan alone, without a model: held-out rows, loss groups, epochs, and the too-few-rows error."""
from __future__ import annotations

import pytest

from reasonir.data.records import TrainingRow
from reasonir.train.config import TrainConfig
from reasonir.train.plan import NotEnoughDataError, epochs_for, plan_training


def rows(n: int, negatives: int = 1, scored: bool = False) -> list[TrainingRow]:
    meta = {"pos_scores": [0.9], "neg_scores": [0.1] * negatives} if scored else {}
    return [TrainingRow(f"q{i}", [f"p{i}"], [f"n{i}-{j}" for j in range(negatives)], kind="hq", seed_id=str(i),
                        meta=dict(meta)) for i in range(n)]


def config(**kwargs) -> TrainConfig:
    cfg = TrainConfig(data=["rows.jsonl"], output_dir="m", **kwargs)
    cfg.resolve(temperature=0.05, learning_rate=2e-5, min_steps=0, merge_base=0.0, max_epochs=0.0)
    return cfg


def test_a_share_of_seeds_is_held_out_and_the_rest_fill_the_groups():
    plan = plan_training(config(batch_size=4, holdout=0.25, holdout_min_rows=2), rows(40), is_llm=False, world=1)
    assert len(plan.held) == 10 and len(plan.rows) == 30
    assert list(plan.groups) == ["with_hard_negatives"] and plan.steps_per_epoch == 7
    assert plan.style == "none" and plan.query_prompt == "" and plan.summary["epochs"] == 1.0


def test_teacher_scored_rows_are_their_own_group_without_negative_counts():
    plan = plan_training(config(batch_size=4, holdout=0.0), rows(12, scored=True), is_llm=True, world=2)
    assert list(plan.groups) == ["teacher_scores"] and plan.global_batch == 8 and plan.style == "gritlm"
    assert plan.summary["negatives_per_query"] is None and plan.summary["effective_negatives_per_query"] is None


def test_few_rows_raise_epochs_up_to_the_cap():
    assert epochs_for(config(min_steps=30, max_epochs=3.0), steps_per_epoch=4) == 3.0
    assert epochs_for(config(min_steps=30), steps_per_epoch=4) == 8
    assert epochs_for(config(min_steps=30, max_steps=5), steps_per_epoch=4) == 1.0  # max_steps decides


def test_rows_too_few_for_the_batch_lower_it_and_only_a_single_row_is_an_error():
    cfg = config(batch_size=8, holdout=0.0)
    plan = plan_training(cfg, rows(5), is_llm=False, world=1)
    assert cfg.batch_size == 4 and plan.lowered_from == 8 and plan.steps_per_epoch == 1
    plan = plan_training(config(batch_size=8, holdout=0.0), rows(1), is_llm=False, world=1)
    with pytest.raises(NotEnoughDataError, match="cannot fill one batch of 2"):
        plan.check()


def shared(n: int, scored: bool) -> list[TrainingRow]:
    """Rows of a small corpus: every row's negatives come from the same four documents."""
    meta = {"pos_scores": [0.9], "neg_scores": [0.1] * 4} if scored else {}
    return [TrainingRow(f"q{i}", [f"p{i}"], [f"d{j}" for j in range(4)], kind="hq", seed_id=str(i), meta=meta)
            for i in range(n)]


def test_contrastive_rows_that_share_their_negatives_fill_fewer_batches_and_the_batch_is_lowered_to_fit():
    cfg = config(batch_size=8, holdout=0.0, negatives_per_query=4)
    plan = plan_training(cfg, shared(32, scored=False), is_llm=False, world=1)
    # a batch may hold each text once, so no two of these rows share a batch: halved down to 2, still no full batch
    assert plan.in_batch_negatives and cfg.batch_size == 2 and plan.steps_per_epoch == 0
    with pytest.raises(NotEnoughDataError):
        plan.check()


def test_distilled_rows_never_use_in_batch_negatives_so_shared_texts_do_not_shrink_their_batches():
    cfg = config(batch_size=8, holdout=0.0, negatives_per_query=4)
    plan = plan_training(cfg, shared(32, scored=True), is_llm=False, world=1)
    assert not plan.in_batch_negatives and cfg.batch_size == 8 and plan.steps_per_epoch == 4


def test_distilled_steps_pass_no_more_texts_at_once_than_a_contrastive_step():
    # a contrastive step of batch 32 with 1 hard negative encodes 96 texts; labelled rows of 9 texts (query,
    # positive, 7 negatives) go 8 rows (72 texts) a pass, 4 passes a step
    plan = plan_training(config(batch_size=32, holdout=0.0), rows(64, negatives=7, scored=True), is_llm=False, world=1)
    assert plan.accumulation == 4 and plan.steps_per_epoch == 2
    assert plan_training(config(batch_size=32, holdout=0.0), rows(64, negatives=7), is_llm=False,
                         world=1).accumulation == 1  # in-batch negatives need the whole batch in one pass
    assert plan_training(config(batch_size=4, holdout=0.0), rows(12, scored=True), is_llm=False,
                         world=1).accumulation == 1  # 4 rows of 3 texts fit


def test_pseudo_dev_rows_are_held_out_and_never_trained_on():
    data = rows(40)
    for row in data[:6]:
        row.meta["split"] = "dev"
    plan = plan_training(config(batch_size=4, holdout=0.25, holdout_min_rows=2), data, is_llm=False, world=1)
    assert [r.query for r in plan.held] == [f"q{i}" for i in range(6)] and len(plan.rows) == 34
    # the signal switched off: still never trained on, no longer measured
    plan = plan_training(config(batch_size=4, holdout=0.0), data, is_llm=False, world=1)
    assert plan.held == [] and len(plan.rows) == 34
