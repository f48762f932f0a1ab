from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from reasonir.data import BRIGHT_TASKS, load_bright
from reasonir.retrieve import BM25Retriever

from conftest import BRIGHT_EXAMPLES as BRIGHT
pytestmark = pytest.mark.skipif(not BRIGHT.exists(), reason="needs ../shared/data/bright_examples")


@pytest.mark.parametrize("task", BRIGHT_TASKS)
def test_all_tasks_load_and_qrels_equal_trec_qrels(task):
    ds = load_bright(BRIGHT, task)
    trec: dict[str, set[str]] = {}
    for line in (BRIGHT / "qrels" / f"{task}.trec.txt").read_text().splitlines():
        qid, _, did, _ = line.split("\t")
        trec.setdefault(qid, set()).add(did)
    assert ds.queries and {q: set(d) for q, d in ds.qrels.items() if d} == trec


def test_excluded_ids_are_removed_from_the_run(tmp_path):
    ds = load_bright(BRIGHT, "leetcode")
    q = next(q for q in ds.queries if q.excluded_ids)
    folder = tmp_path / "bright"
    shutil.copytree(BRIGHT / "examples", folder / "examples")
    (folder / "documents").mkdir()
    docs = [{"id": d, "content": q.text} for d in q.excluded_ids[:3]] + [{"id": "other", "content": q.text}]
    with gzip.open(folder / "documents" / "leetcode.jsonl.gz", "wt") as fh:
        fh.write("\n".join(json.dumps(d) for d in docs))
    ds = load_bright(folder, "leetcode")
    run = BM25Retriever().index(ds.documents).search([q], k=10)
    assert list(run[q.id]) == ["other"]
