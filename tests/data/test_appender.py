from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from reasonir.data import DataError, JsonlAppender


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_torn_last_line_is_cut_and_done_keys_reported(tmp_path):
    path = tmp_path / "out.jsonl"
    with JsonlAppender(path, key="meta.key") as out:
        out.append({"meta": {"key": "a"}, "v": 1})
        out.append_many([{"meta": {"key": "b"}, "v": 2}, {"meta": {"key": 3}, "v": 3}])
    complete = path.read_bytes()
    with open(path, "ab") as fh:
        fh.write(b'{"meta": {"key": "d"}, "v": ')  # what a crash in the middle of a write leaves
    with JsonlAppender(path, key="meta.key") as out:
        assert out.keys == {"a", "b", "3"} and out.count == 3 and out.torn_bytes == 28 and "d" not in out
        assert path.read_bytes() == complete
        out.append({"meta": {"key": "d"}, "v": 4})
    assert [row["v"] for row in _lines(path)] == [1, 2, 3, 4]


def test_duplicates_refused_and_bad_complete_lines_located(tmp_path):
    path = tmp_path / "out.jsonl"
    with JsonlAppender(path) as out:
        out.append({"id": "a"})
        with pytest.raises(ValueError, match="key 'a' already written"):
            out.append({"id": "a"})
        with pytest.raises(ValueError, match="key 'b' already written"):
            out.append_many([{"id": "b"}, {"id": "b"}])
        with pytest.raises(DataError, match="id: missing field"):
            out.append({"name": "no id"})
    assert _lines(path) == [{"id": "a"}]
    with JsonlAppender(path, unique=False) as out:
        out.append({"id": "a"})
        assert out.count == 2 and out.keys == {"a"}
    path.write_text('{"id": "a"}\n{"id": oops}\n{"id": "c"}\n')
    with pytest.raises(DataError, match=r"out\.jsonl:2: malformed line"):
        JsonlAppender(path)
    path.write_text('{"id": "a"}\n{"id": "a"}\n')
    with pytest.raises(DataError, match=r"out\.jsonl:2: id: duplicate key 'a'"):
        JsonlAppender(path)


def test_one_writer_at_a_time(tmp_path):
    with JsonlAppender(tmp_path / "out.jsonl"):
        with pytest.raises(RuntimeError, match="another process is appending"):
            JsonlAppender(tmp_path / "out.jsonl")
    JsonlAppender(tmp_path / "out.jsonl").close()  # released on close


WRITER = """
import sys
from reasonir.data import JsonlAppender
out = JsonlAppender(sys.argv[1], key="id")
for i in range(int(sys.argv[2])):
    if str(i) not in out:
        out.append({"id": str(i), "text": "x" * 2000})
"""


@pytest.mark.skipif(os.name != "posix", reason="kill -9 is POSIX")
def test_kill_9_then_resume_gives_every_row_once(tmp_path):
    path, total = tmp_path / "out.jsonl", 200
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(total)])
    deadline = time.monotonic() + 30
    while (not path.exists() or path.stat().st_size < 40_000) and time.monotonic() < deadline:
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    with open(path, "ab") as fh:
        fh.write(b'{"id": "torn", "te')  # make sure a torn line is there, wherever the kill landed
    with JsonlAppender(path, key="id") as out:
        assert out.torn_bytes >= 18 and 0 < out.count < total
    subprocess.run([sys.executable, "-c", WRITER, str(path), str(total)], check=True)
    ids = [row["id"] for row in _lines(path)]
    assert ids == [str(i) for i in range(total)]
