from __future__ import annotations

import pytest

from reasonir.data import BRIGHT_DIR_ENV, DataError, DatasetSpec, load_beir, load_dataset, parse_spec

from conftest import BRIGHT_EXAMPLES, SCIFACT, needs


def test_bright_location_comes_from_spec_then_env_then_hub(monkeypatch):
    monkeypatch.delenv(BRIGHT_DIR_ENV, raising=False)
    assert parse_spec("bright:aops") == DatasetSpec("bright", "hub", "aops")
    monkeypatch.setenv(BRIGHT_DIR_ENV, "/data/bright")
    assert parse_spec("bright:aops") == DatasetSpec("bright", "/data/bright", "aops")
    assert parse_spec("bright:aops@/elsewhere") == DatasetSpec("bright", "/elsewhere", "aops")
    assert parse_spec("bright-long:pony@hub") == DatasetSpec("bright", "hub", "pony", long_documents=True)
    assert parse_spec("some/folder") == DatasetSpec("beir", "some/folder")
    with pytest.raises(DataError, match="bright:chess: task: unknown BRIGHT task 'chess'"):
        parse_spec("bright:chess")


@needs(BRIGHT_EXAMPLES)
def test_bright_spec_loads_from_env_folder(monkeypatch):
    monkeypatch.setenv(BRIGHT_DIR_ENV, str(BRIGHT_EXAMPLES))
    ds = load_dataset("bright:theoremqa_theorems")
    assert len(ds.queries) == 76
    with pytest.raises(DataError, match="split: BRIGHT has only a test split"):
        load_dataset("bright:theoremqa_theorems", split="train")


@needs(SCIFACT)
def test_beir_spec_and_split():
    assert len(load_dataset(str(SCIFACT), split="train").queries) == len(load_beir(SCIFACT, "train").queries) == 809
    with pytest.raises(FileNotFoundError, match="no qrels for split 'dev'"):
        load_dataset(str(SCIFACT), split="dev")


def test_cli_exit_codes_for_spec_errors(tmp_path, capsys):
    from reasonir.cli import EXIT_BAD_INPUT, exit_code_for

    for spec in ("bright:chess", "bright-long:aops", str(tmp_path)):
        with pytest.raises((DataError, FileNotFoundError)) as info:
            load_dataset(spec)
        assert exit_code_for(info.value) == EXIT_BAD_INPUT


def test_unknown_path_says_what_is_accepted(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"not a BEIR folder .* and not bright:TASK"):
        load_dataset(str(tmp_path))
