from __future__ import annotations

import pytest

from reasonir.data import DataError, Query
from reasonir.evaluate import TOP_K, prepare_run, read_trec_run, write_trec_run


def test_excluded_ids_are_removed_before_truncation_as_bright_does():
    run = {"q": {"a": 3.0, "b": 2.0, "c": 1.0}, "r": {"a": 1.0}}
    assert prepare_run(run, [Query("q", "", excluded_ids=("a",)), Query("r", "")], k=2) == {
        "q": {"b": 2.0, "c": 1.0}, "r": {"a": 1.0}}


def test_top_1000_is_the_default_cut():
    run = {"q": {f"d{i}": float(i) for i in range(TOP_K + 50)}}
    kept = prepare_run(run)["q"]
    assert len(kept) == 1000 and min(kept.values()) == 50.0


def test_trec_run_round_trip(tmp_path):
    run = {"q2": {"b": 0.5, "a": 0.25}, "q1": {"c": 1e-9, "d": -3.0}}
    path = write_trec_run(run, tmp_path / "run.trec", tag="bm25")
    lines = path.read_text().splitlines()
    assert lines[0] == "q1 Q0 c 1 1e-09 bm25" and lines[-1] == "q2 Q0 a 2 0.25 bm25"
    assert read_trec_run(path) == run


def test_write_refuses_to_overwrite_unless_asked(tmp_path):
    path = tmp_path / "run.trec"
    path.write_text("precious")
    with pytest.raises(FileExistsError):
        write_trec_run({"q": {"d": 1.0}}, path)
    assert path.read_text() == "precious"
    write_trec_run({"q": {"d": 1.0}}, path, overwrite=True)
    assert read_trec_run(path) == {"q": {"d": 1.0}}


@pytest.mark.parametrize("line,field,message", [
    ("q Q0 d 1 0.5", None, "expected 6 fields"),
    ("q Q0 d one 0.5 t", "rank", "not an integer"),
    ("q Q0 d 1 high t", "score", "not a number"),
    ("q Q0 a 2 0.4 t", "docid", "listed twice"),
])
def test_bad_run_lines_are_located(tmp_path, line, field, message):
    path = tmp_path / "bad.trec"
    path.write_text(f"q Q0 a 1 0.9 t\n{line}\n")
    with pytest.raises(DataError, match=message) as info:
        read_trec_run(path)
    assert (info.value.line, info.value.field) == (2, field) and str(path) in str(info.value)
