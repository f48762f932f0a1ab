"""End-to-end training on sentence-transformers' trainer: output folder, card, eval, resume, GradCache, memory."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest


from reasonir.train import TrainConfig, fit
from reasonir.train.card import read_summary


def tiny(rows, out, base, **overrides) -> TrainConfig:
    settings = dict(data=[str(rows)], output_dir=out, base_model=base, batch_size=4, query_max_length=16,
                    document_max_length=32, max_steps=4, logging_steps=1, save_steps=1000, learning_rate=1e-3,
                    warmup_ratio=0.0)
    settings.update(overrides)
    return TrainConfig(**settings)


def test_minilm_trains_into_a_standard_folder_that_eval_uses(rows_file, tiny_beir, tmp_path, capsys):
    from sentence_transformers import SentenceTransformer

    from reasonir.cli import main
    from reasonir.models import load_encoder

    out = tmp_path / "model"
    result = fit(tiny(rows_file, out, None, max_steps=2, learning_rate=5e-5, dev_dir=tiny_beir))
    printed = capsys.readouterr().out
    assert "effective_negatives_per_query=7" in printed and "temperature=0.05" in printed  # 4*(1+1)-1; MiniLM: scale 20
    assert "query_max_length=16" in printed and "document_max_length=32" in printed

    model = SentenceTransformer(str(out))  # a plain sentence-transformers folder
    base = load_encoder()
    assert model.max_seq_length == base.max_seq_length == 256  # trained on 16/32 tokens, searched as the base was
    texts = ["what is entropy"]
    assert not np.allclose(model.encode(texts), base.encode(texts), atol=1e-6)  # the weights did change
    assert not (out / "checkpoints").exists()

    summary = read_summary(out)
    assert summary["rows_per_source"] == {str(rows_file): 32} and summary["steps"] == 2
    card = (out / "README.md").read_text()
    assert "## Training with reasonir" in card and str(rows_file) in card and "ndcg@10" in card

    # reasonir eval on the same folder scores exactly what the in-training evaluator reported after training
    assert main(["eval", "--dataset", str(tiny_beir), "--retriever", "dense", "--model", str(out),
                 "--no-cache", "--no-progress", "--output", "json"]) == 0
    scores = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    ndcg = scores.get("ndcg@10", scores.get("metrics", {}).get("ndcg@10"))
    assert ndcg == pytest.approx(result.dev_after["ndcg@10"], abs=1e-6)


def test_never_trains_over_a_folder_silently(rows_file, tiny_bert, tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="--resume|--overwrite"):
        fit(tiny(rows_file, out, tiny_bert))
    assert (out / "notes.txt").read_text() == "mine"


def test_too_few_distinct_rows_for_a_batch_is_an_error_not_a_silent_no_op(tiny_bert, tmp_path):
    from reasonir.train import NotEnoughDataError

    rows = tmp_path / "few.jsonl"
    rows.write_text("".join(json.dumps({"query": f"q{i}", "pos": ["same passage"], "neg": [f"n{i}"]}) + "\n"
                            for i in range(6)))
    # every row shares its positive: even the smallest batch (2) would hold that text twice
    with pytest.raises(NotEnoughDataError, match="cannot fill one batch of 2 distinct texts"):
        fit(tiny(rows, tmp_path / "m", tiny_bert), log=lambda _: None)
    assert not (tmp_path / "m" / "modules.json").exists()


def test_resume_after_interruption_continues_the_same_run(rows_file, tiny_bert, tmp_path):
    whole = fit(tiny(rows_file, tmp_path / "whole", tiny_bert), log=lambda _: None)
    cut = tmp_path / "cut"
    first = fit(tiny(rows_file, cut, tiny_bert, stop_after_steps=2, save_steps=2), log=lambda _: None)
    assert first.steps == 2 and (cut / "checkpoints" / "checkpoint-2").is_dir()
    assert not (cut / "modules.json").exists()  # an interrupted run leaves no half-finished model
    second = fit(tiny(rows_file, cut, tiny_bert, resume=True, save_steps=2), log=lambda _: None)
    assert second.steps == 4
    expected = dict(whole.loss_history)
    resumed = dict(second.loss_history)
    assert sorted(resumed) == [3, 4]  # it went on from step 3, no step repeated
    for step in (3, 4):  # same data order, optimizer and scheduler state as the uninterrupted run
        assert resumed[step] == pytest.approx(expected[step], rel=1e-4, abs=1e-6)


def test_gradcache_gives_the_same_loss_curve(rows_file, tiny_bert, tmp_path):
    plain = fit(tiny(rows_file, tmp_path / "plain", tiny_bert, batch_size=8), log=lambda _: None)
    cached = fit(tiny(rows_file, tmp_path / "cached", tiny_bert, batch_size=8, gradcache_mini_batch=2),
                 log=lambda _: None)
    a, b = [loss for _, loss in plain.loss_history], [loss for _, loss in cached.loss_history]
    assert len(a) == 4 and a[0] > 0.1
    assert b == pytest.approx(a, rel=1e-4)
    assert a[-1] != pytest.approx(a[0], rel=1e-3)  # the model did learn between steps


def test_cli_json_output(rows_file, tiny_bert, tmp_path, capfd):
    from reasonir.cli import main

    out = tmp_path / "m"
    argv = ["train", "--data", f"{rows_file}:1", "--base", tiny_bert, "--out", str(out), "--batch-size", "4",
            "--max-length", "16", "--max-steps", "2", "--negatives", "1", "--output", "json"]
    assert main(argv) == 0
    stdout = capfd.readouterr().out  # file descriptor 1: what a library prints from C lands here too
    assert len(stdout.strip().splitlines()) == 1  # progress went to stderr
    record = json.loads(stdout)
    assert record["steps"] == 2 and record["model"] == str(out)
    assert main(["train", "--data", str(rows_file), "--base", tiny_bert, "--out", str(out)]) == 2  # not empty


def test_out_of_memory_names_the_settings_to_lower(tmp_path, thread_env):
    """A real allocation failure: address space capped 1.5 GB above the loaded libraries, far below what
    MiniLM needs for 32 queries x 3 texts x 512 tokens (attention alone is over 1 GB per layer)."""
    long_text = " ".join(f"word{i}" for i in range(600))
    rows_file = tmp_path / "long.jsonl"
    rows_file.write_text("".join(json.dumps({"query": f"{i} {long_text}", "pos": [f"p{i} {long_text}"],
                                             "neg": [f"n{i} {long_text}"]}) + "\n" for i in range(40)))
    script = textwrap.dedent(f"""
        import resource
        from reasonir.train import TrainConfig, TrainingMemoryError, fit
        from reasonir.train import trainer
        import sentence_transformers, torch  # imported first so the cap only bites the training step
        torch.set_num_threads(1)
        used = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (used + 1_500_000_000, resource.RLIM_INFINITY))
        try:
            fit(TrainConfig(data=[{str(rows_file)!r}], output_dir={str(tmp_path / "m")!r}, batch_size=32,
                            query_max_length=512, document_max_length=512, max_steps=1), log=lambda _: None)
        except TrainingMemoryError as exc:
            print("ADVICE", exc)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env=thread_env)
    assert "ADVICE" in done.stdout, done.stdout + done.stderr[-3000:]
    assert "--batch-size" in done.stdout and "--gradcache-mini-batch" in done.stdout and "--max-length" in done.stdout


def test_fewer_rows_than_one_batch_lower_the_batch_size_and_say_so(tiny_bert, tmp_path):
    rows = tmp_path / "three.jsonl"
    rows.write_text("".join(json.dumps({"query": f"q{i}", "pos": [f"p{i}"], "neg": [f"n{i}"]}) + "\n"
                            for i in range(3)))
    logged: list[str] = []
    result = fit(tiny(rows, tmp_path / "m", tiny_bert), log=logged.append)  # asks for batches of 4
    assert result.steps == 4 and (tmp_path / "m" / "modules.json").exists()
    assert any(line == "batch size 2: 3 rows cannot fill a batch of 4" for line in logged), logged


def test_merge_base_takes_back_that_share_of_the_base_weights(rows_file, tiny_bert, tmp_path):
    from sentence_transformers import SentenceTransformer

    tuned = fit(tiny(rows_file, tmp_path / "tuned", tiny_bert, merge_base=0.0), log=lambda _: None)
    logged: list[str] = []
    merged = fit(tiny(rows_file, tmp_path / "merged", tiny_bert, merge_base=0.25), log=logged.append)
    assert tuned.loss_history == merged.loss_history  # the same run until the merge
    assert any("merged back 0.25" in line for line in logged)
    weights = {name: SentenceTransformer(str(path)).state_dict()
               for name, path in (("base", tiny_bert), ("tuned", tmp_path / "tuned"), ("merged", tmp_path / "merged"))}
    changed = 0
    for key, value in weights["merged"].items():
        if value.is_floating_point():
            expected = 0.75 * weights["tuned"][key] + 0.25 * weights["base"][key]
            assert np.allclose(value.numpy(), expected.numpy(), atol=1e-6), key
            changed += int(not np.allclose(weights["tuned"][key].numpy(), weights["base"][key].numpy()))
    assert changed > 0
    assert read_summary(tmp_path / "merged")["settings"]["merge_base"] == 0.25


def test_merge_base_default_comes_from_the_model_table():
    from reasonir.models.instructions import get_training_defaults

    assert get_training_defaults("sentence-transformers/all-MiniLM-L6-v2").merge_base == 0.5
    assert get_training_defaults("my-org/some-llm", is_llm=True).merge_base == 0.0
    with pytest.raises(ValueError, match="merge_base"):
        TrainConfig(data=["x.jsonl"], output_dir="o", merge_base=1.0)


def test_rows_with_teacher_scores_train_by_distillation(tmp_path, tiny_bert):
    import torch

    from reasonir.train.losses import build_loss

    rows = tmp_path / "labelled.jsonl"
    with open(rows, "w") as fh:
        for i in range(8):
            fh.write(json.dumps({"query": f"question {i}", "pos": [f"answer {i}"],
                                 "neg": [f"near miss {i}", f"far away {i}"],
                                 "meta": {"pos_scores": [0.9], "neg_scores": [0.6, 0.1]}}) + "\n")
    logged: list[str] = []
    result = fit(tiny(rows, tmp_path / "m", tiny_bert, holdout=0.0), log=logged.append)
    assert result.steps == 4 and any("8 teacher scores" in line for line in logged)
    assert any("distilled: 8 rows, each query against its own 3 texts" in line for line in logged)
    assert any("effective_negatives_per_query=None" in line for line in logged)  # no contrastive group here
    config = tiny(rows, tmp_path / "x", tiny_bert)
    config.resolve(temperature=0.05, learning_rate=1e-3)
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(tiny_bert)
    loss = build_loss(model, config, groups=["teacher_scores"])
    assert type(loss).__name__ == "TeacherKL" and loss.student_temperature == 0.05
    mixed = build_loss(model, config, groups=["teacher_scores", "with_hard_negatives"])
    assert set(mixed) == {"teacher_scores", "with_hard_negatives"}
    # the KL term is undone of sentence-transformers' temperature-squared factor: InfoNCE-sized gradients
    from sentence_transformers.sentence_transformer.losses import DistillKLDivLoss

    features = [model.tokenize([t]) for t in ("q", "p", "n")]
    labels = torch.tensor([[1.0, 0.0]])
    plain = DistillKLDivLoss(model, student_temperature=0.05, teacher_temperature=0.05)(features, labels)
    assert loss(features, labels).item() == pytest.approx(plain.item() / 0.05 ** 2, rel=1e-5) and plain.item() > 0


def test_distilled_steps_in_several_passes_learn_exactly_as_in_one(tmp_path, tiny_bert):
    rows = tmp_path / "labelled.jsonl"
    with open(rows, "w") as fh:
        for i in range(16):
            fh.write(json.dumps({"query": f"question {i}", "pos": [f"answer {i}"],
                                 "neg": [f"near miss {i}", f"far away {i}", f"other {i}", f"none {i}"],
                                 "meta": {"pos_scores": [0.9], "neg_scores": [0.6, 0.4, 0.2, 0.1]}}) + "\n")
    logged: list[str] = []
    # 6 texts a row; batch 8 at 1 hard negative allows 24 texts a pass: 4 rows, 2 passes a step
    passes = fit(tiny(rows, tmp_path / "passes", tiny_bert, batch_size=8, holdout=0.0, negatives_per_query=1),
                 log=logged.append)
    assert any("each step of 8 rows in 2 passes of 4" in line for line in logged), logged
    # at 6 hard negatives the budget (64 texts) holds the whole batch (48 texts): one pass
    whole = fit(tiny(rows, tmp_path / "whole", tiny_bert, batch_size=8, holdout=0.0, negatives_per_query=6),
                log=lambda _: None)
    a, b = [loss for _, loss in whole.loss_history], [loss for _, loss in passes.loss_history]
    assert len(a) == 4 and a[-1] != pytest.approx(a[0], rel=1e-3)
    assert b[0] == pytest.approx(a[0], rel=1e-5)  # the same first batch, the same loss
    assert b == pytest.approx(a, rel=1e-3)  # later steps differ only by summation order (4e-4 here, bf16 or not)
