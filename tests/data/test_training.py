from __future__ import annotations

import json

import pytest

from reasonir.data import (
    DataError,
    TrainingRow,
    export_hf,
    hf_columns,
    read_training_rows,
    row_from_dict,
    row_to_dict,
    to_hf_dataset,
    write_training_rows,
)

ROWS = [
    TrainingRow("How do cells make ATP without oxygen?", ["Glycolysis ..."], ["ATP is a molecule.", "Oxygen ..."],
                "Retrieve documents that help answer the question.", "hq", "4983", {"model": "smollm2"}),
    TrainingRow("A long query " * 20, ["A long positive"], ["one negative"], "", "vl", None, {}),
    TrainingRow("claim", ["abstract 1", "abstract 2"], [], "", "public", "12", {}),
]


def test_write_read_round_trip(tmp_path):
    path = write_training_rows(ROWS, tmp_path / "rows.jsonl")
    assert read_training_rows(path) == ROWS
    assert [row_from_dict(row_to_dict(r)) for r in ROWS] == ROWS
    assert [p.name for p in tmp_path.iterdir()] == ["rows.jsonl"]  # no temporary file left behind


def test_flagembedding_rows_are_read(tmp_path):
    line = {"query": "q", "pos": ["p"], "neg": ["n"], "pos_scores": [1.0], "neg_scores": [0.2], "prompt": "Find it"}
    (tmp_path / "fe.jsonl").write_text(json.dumps(line) + "\n")
    (row,) = read_training_rows(tmp_path / "fe.jsonl")
    assert row.instruction == "Find it" and row.kind == "public"
    assert row.meta == {"pos_scores": [1.0], "neg_scores": [0.2]}


@pytest.mark.parametrize(("row", "where"), [
    ({"pos": ["p"]}, "query: missing field"),
    ({"query": "  ", "pos": ["p"]}, "query: empty"),
    ({"query": "q", "pos": []}, "pos: empty list"),
    ({"query": "q", "pos": "p"}, "pos: expected a list of strings, got str"),
    ({"query": "q", "pos": ["p", 3]}, r"pos\[1\]: expected a string, got int"),
    ({"query": "q", "pos": ["p"], "neg": [""]}, r"neg\[0\]: empty string"),
    ({"query": "q", "pos": ["p"], "kind": "gold"}, "kind: expected one of hq, vl, public, got 'gold'"),
    ({"query": "q", "pos": ["p"], "seed_id": ["x"]}, "seed_id: expected a non-empty string id, got list"),
    ({"query": "q", "pos": ["p"], "meta": []}, "meta: expected an object, got list"),
    ({"query": "q", "pos": ["p"], "instruction": 5}, "instruction: expected a string, got int"),
    ({"query": "q", "pos": ["p"], "x": 1, "meta": {"x": 2}}, "x: also present inside meta"),
])
def test_bad_rows_name_file_line_and_field(tmp_path, row, where):
    good = json.dumps({"query": "q", "pos": ["p"]})
    (tmp_path / "rows.jsonl").write_text(f"{good}\n{good}\n{json.dumps(row)}\n")
    with pytest.raises(DataError, match=rf"rows\.jsonl:3: {where}"):
        read_training_rows(tmp_path / "rows.jsonl")


def test_malformed_json_and_empty_file(tmp_path):
    (tmp_path / "rows.jsonl").write_text('{"query": "q", "pos": ["p"]}\n{"query": \n')
    with pytest.raises(DataError, match=r"rows\.jsonl:2: malformed JSON"):
        read_training_rows(tmp_path / "rows.jsonl")
    (tmp_path / "rows.jsonl").write_text("\n")
    with pytest.raises(DataError, match="no training rows"):
        read_training_rows(tmp_path / "rows.jsonl")


def test_write_refuses_to_overwrite_and_keeps_old_file_on_bad_row(tmp_path):
    path = write_training_rows(ROWS[:1], tmp_path / "rows.jsonl")
    with pytest.raises(FileExistsError, match="overwrite"):
        write_training_rows(ROWS, path)
    bad = TrainingRow("q", [], [])
    with pytest.raises(DataError, match=r"rows\.jsonl:2: pos: empty list"):
        write_training_rows([ROWS[1], bad], path, overwrite=True)
    assert read_training_rows(path) == ROWS[:1] and len(list(tmp_path.iterdir())) == 1
    write_training_rows(ROWS, path, overwrite=True)
    assert read_training_rows(path) == ROWS


def test_hf_columns_drop_short_rows_and_format_instructions():
    built = hf_columns(ROWS, n_negatives=1, instruction_format="e5")
    assert list(built.columns) == ["anchor", "positive", "negative_1"]
    assert built.dropped_short == 1 and built.examples == 2
    assert built.columns["anchor"][0] == f"Instruct: {ROWS[0].instruction}\nQuery: {ROWS[0].query}"
    assert built.columns["anchor"][1] == ROWS[1].query  # no instruction: the query alone
    assert hf_columns(ROWS, n_negatives=2).examples == 1
    expanded = hf_columns(ROWS, n_negatives=0, positives="expand", instruction_format="gritlm")
    assert expanded.columns["positive"] == ["Glycolysis ...", "A long positive", "abstract 1", "abstract 2"]
    assert expanded.columns["anchor"][2] == "<|embed|>\nclaim"
    with pytest.raises(ValueError, match=r"rows\[2\] has 0 negatives"):
        hf_columns(ROWS, n_negatives=1, short="error")
    with pytest.raises(ValueError, match="no examples left"):
        hf_columns(ROWS, n_negatives=3)


def test_hf_dataset_export_reloads(tmp_path, caplog):
    datasets = pytest.importorskip("datasets")
    with caplog.at_level("WARNING"):
        ds = to_hf_dataset(ROWS, n_negatives=1)
    assert "dropped 1 of 3" in caplog.text and "1 rows dropped" in ds.info.description
    assert ds.column_names == ["anchor", "positive", "negative_1"] and ds[1]["negative_1"] == "one negative"
    export_hf(ROWS, tmp_path / "hf", n_negatives=1)
    again = datasets.load_from_disk(str(tmp_path / "hf"))
    assert again.to_dict() == ds.to_dict()
    with pytest.raises(FileExistsError):
        export_hf(ROWS, tmp_path / "hf")
    export_hf(ROWS, tmp_path / "hf", overwrite=True, n_negatives=0)
    assert datasets.load_from_disk(str(tmp_path / "hf")).num_rows == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf"]
