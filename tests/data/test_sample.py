"""The bundled demo sample (examples/scifact-sample) loads, and is the slice of SciFact its script says it is."""
from __future__ import annotations

import importlib.util
import random
from pathlib import Path

from reasonir.data import load_beir, load_dataset

from conftest import SCIFACT, needs

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "scifact-sample"


def test_sample_loads_and_every_qrels_id_exists():
    ds = load_dataset(str(SAMPLE))  # load_beir raises on a qrels id missing from the corpus or the queries
    assert len(ds.queries) == 50 and len(ds.documents) == 600
    doc_ids = {d.id for d in ds.documents}
    assert all(did in doc_ids for judged in ds.qrels.values() for did in judged)
    assert sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file()) < 2_000_000


@needs(SCIFACT)
def test_sample_is_the_scripted_slice_of_scifact():
    spec = importlib.util.spec_from_file_location("make_scifact_sample", SAMPLE.parent / "make_scifact_sample.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    full, sample = load_beir(SCIFACT), load_beir(SAMPLE)
    assert sample.queries == script.sample_queries(full, 50, random.Random(0))
    assert sample.qrels == {q.id: full.qrels[q.id] for q in sample.queries}
    originals = {d.id: d for d in full.documents}
    assert all(originals[d.id] == d for d in sample.documents)
    order = [d.id for d in full.documents if d.id in {s.id for s in sample.documents}]
    assert [d.id for d in sample.documents] == order  # full-corpus order: position gives nothing away
