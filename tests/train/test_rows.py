"""Training data: validation that names file/line/field, mixing by ratio, instruction formats."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from reasonir.data.errors import DataError
from reasonir.data.records import TrainingRow
from reasonir.train.config import DataSource, TrainConfig
from reasonir.train.rows import format_query, load_sources, mix, read_rows, rows_to_dataset


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = json.dumps({"query": "q", "pos": ["p"], "neg": ["n"]})


@pytest.mark.parametrize(
    ("bad_line", "field"),
    [
        (json.dumps({"pos": ["p"]}), "query"),
        (json.dumps({"query": "q"}), "pos"),
        (json.dumps({"query": "", "pos": ["p"]}), "query"),
        (json.dumps({"query": 3, "pos": ["p"]}), "query"),
        (json.dumps({"query": "q", "pos": 5}), "pos"),
        (json.dumps({"query": "q", "pos": []}), "pos"),
        (json.dumps({"query": "q", "pos": ["p"], "neg": [1]}), "neg"),
    ],
)
def test_bad_row_names_file_line_and_field(tmp_path, bad_line, field):
    path = _write(tmp_path / "rows.jsonl", [GOOD, GOOD, bad_line])
    with pytest.raises(DataError) as info:
        read_rows(path)
    assert info.value.line == 3
    assert info.value.field is not None and info.value.field.startswith(field)
    assert str(path) in str(info.value)


def test_malformed_json_is_located(tmp_path):
    path = _write(tmp_path / "rows.jsonl", [GOOD, "{not json"])
    with pytest.raises(DataError, match=r"rows.jsonl:2"):
        read_rows(path)


def test_bad_data_stops_before_any_model_loads(tmp_path, thread_env):
    """The CLI exits 2 naming the row, and neither torch nor sentence-transformers was imported."""
    good = _write(tmp_path / "good.jsonl", [GOOD] * 3)
    bad = _write(tmp_path / "bad.jsonl", [GOOD, json.dumps({"query": "q", "pos": ["p"], "neg": {"x": 1}})])
    script = (
        "import sys\n"
        "from reasonir.cli import main\n"
        f"code = main(['train', '--data', {str(good)!r}, {str(bad)!r}, '--out', {str(tmp_path / 'm')!r}])\n"
        "print('CODE', code, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env=thread_env)
    assert "CODE 2 False False" in done.stdout, done.stdout + done.stderr
    assert f"{bad}:2: neg" in done.stderr
    assert not (tmp_path / "m").exists()


def test_mixing_follows_ratios(tmp_path):
    a = _write(tmp_path / "a.jsonl", [json.dumps({"query": f"a{i}", "pos": ["p"]}) for i in range(10)])
    b = _write(tmp_path / "b.jsonl", [json.dumps({"query": f"b{i}", "pos": ["p"]}) for i in range(30)])
    mixture = mix(load_sources([DataSource(a, 0.5), DataSource(b, 0.5)]), seed=1)
    kinds = Counter(row.query[0] for row in mixture.rows)
    assert kinds == {"a": 20, "b": 20}  # 40 rows in all, half each: a is upsampled (2 passes), b subsampled
    assert len({r.query for r in mixture.rows if r.query.startswith("b")}) == 20  # no repeats when subsampling
    natural = mix(load_sources([DataSource(a), DataSource(b)]))
    assert natural.rows_per_source == {str(a): 10, str(b): 30}


def test_ratios_all_or_none():
    with pytest.raises(ValueError, match="ratio"):
        TrainConfig(data=[DataSource.parse("a.jsonl:0.5"), DataSource.parse("b.jsonl")], output_dir="x")
    assert DataSource.parse("dir:1/file.jsonl").ratio is None  # a colon inside the path is not a ratio


def test_dataset_columns_and_instruction_formats():
    rows = [TrainingRow("q1", ["p1"], ["n1", "n2"], instruction="Find it"), TrainingRow("q2", ["p2"], [])]
    ds = rows_to_dataset(rows, 2, "gritlm", default_instruction="Default")
    assert ds.column_names == ["anchor", "positive", "negative_1", "negative_2"]
    assert ds[0]["anchor"] == "<|user|>\nFind it\n<|embed|>\nq1" == format_query("q1", "Find it", "gritlm")
    assert ds[0]["positive"] == "<|embed|>\np1" and ds[0]["negative_2"] == "<|embed|>\nn2"
    assert len(ds) == 1  # the row without hard negatives is left out (the data package's rule)
    assert rows_to_dataset(rows, 0, "plain", default_instruction="Default")["anchor"] == ["Find it q1", "Default q2"]
    with pytest.raises(ValueError, match="--negatives"):
        rows_to_dataset(rows, 3, "none")


def test_effective_negatives_count_every_device_when_gathering():
    cfg = TrainConfig(data=["a.jsonl"], output_dir="x", batch_size=32, negatives_per_query=3, temperature=0.05)
    assert cfg.scale == pytest.approx(20.0)
    assert cfg.summary()["effective_negatives_per_query"] == 32 * 4 - 1
    assert cfg.summary(world_size=8)["effective_negatives_per_query"] == 8 * 32 * 4 - 1
    cfg.gather_across_devices = False
    assert cfg.summary(world_size=8)["effective_negatives_per_query"] == 32 * 4 - 1


def test_rows_with_teacher_scores_form_a_distillation_group():
    from reasonir.train.rows import DISTILLED, rows_to_datasets

    scored = [TrainingRow(f"q{i}", [f"p{i}"], [f"a{i}", f"b{i}", f"c{i}"][: 2 + i % 2],
                          meta={"pos_scores": [0.9], "neg_scores": [0.5, 0.1, 0.3][: 2 + i % 2]}) for i in range(6)]
    plain = [TrainingRow(f"x{i}", [f"y{i}"], [f"z{i}"]) for i in range(4)]
    broken = TrainingRow("w", ["v"], ["u"], meta={"pos_scores": [1.0], "neg_scores": [0.1, 0.2]})  # 2 scores, 1 text
    groups = rows_to_datasets(scored + plain + [broken], 1, "none", batch_size=4)
    assert set(groups) == {DISTILLED, "with_hard_negatives"}
    distilled = groups[DISTILLED]
    assert distilled.column_names == ["anchor", "positive", "negative_1", "negative_2", "label"]  # cut to the fewest
    assert distilled[1]["negative_2"] == "b1" and distilled[1]["label"] == pytest.approx([0.9, 0.5, 0.1])
    assert len(groups["with_hard_negatives"]) == 5  # the plain rows and the row whose scores do not fit its texts
    assert set(rows_to_datasets(scored + plain, 1, "none", batch_size=4, distill=False)) == {"with_hard_negatives"}
    only = rows_to_datasets(scored + plain[:1], 1, "none", batch_size=4)  # one plain row cannot fill a batch
    assert set(only) == {DISTILLED}
