"""The Ray backend on a local Ray (loopback, 2 CPUs) gives the local backend's outputs: dense shards, synthesis rows."""
from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from endpoints import ScriptedEndpoint

from reasonir.cli import main
from reasonir.data import Query, load_corpus
from reasonir.optional import MissingOptionalDependency
from reasonir.retrieve import DenseRetriever, load_index
from reasonir.retrieve.base import document_text
from reasonir.synth import SynthConfig, synthesize
from reasonir.synth.job import state_dir
from reasonir.testing import ScriptedLLM, scripted_answers

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "scifact-sample"


@pytest.fixture(scope="module")
def cluster():
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """The first 60 sample abstracts, cut to 40 words (encoding time is not what these tests are about)."""
    path = tmp_path_factory.mktemp("corpus") / "corpus.jsonl"
    with open(SAMPLE / "corpus.jsonl") as src, open(path, "w") as dst:
        for _, line in zip(range(60), src):
            doc = json.loads(line)
            dst.write(json.dumps({**doc, "text": " ".join(doc["text"].split()[:40])}) + "\n")
    return path


def test_missing_ray_names_the_extra(monkeypatch):
    from reasonir.scale.cluster import import_ray

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingOptionalDependency, match=r"pip install 'reasonir\[ray\]'"):
        import_ray()


def test_encoding_matches_local_and_skips_the_shards_an_earlier_run_finished(cluster, corpus, tmp_path, capsys):
    from reasonir.scale import encode

    docs = load_corpus(corpus)
    local = DenseRetriever(use_cache=False, show_progress=False)
    vectors = local.encode_documents([document_text(d) for d in docs])
    out = tmp_path / "idx"
    # an earlier run of this job was interrupted with shard 1 of 3 finished (shards of 25: 25, 25, 10 documents);
    # a shard left by a job with other settings must not be taken
    template = DenseRetriever(use_cache=False)
    job_key = encode.job_key(template, {})
    work = encode.work_dir(out)
    finished = work / encode.shard_name(1, job_key, docs[25:50])
    encode.save_shard(finished, docs[25:50], vectors[25:50], template, {})
    stale = work / encode.shard_name(0, job_key + "other settings", docs[:25])
    encode.save_shard(stale, docs[:25], vectors[:25] * 0, template, {})
    inode = (finished / "faiss.index").stat().st_ino

    # the same job from the command line: encodes shards 0 and 2 on two workers, links shard 1
    assert main(["index", str(corpus), "--retriever", "dense", "--backend", "ray", "--workers", "2",
                 "--shard-size", "25", "--out", str(out), "--no-progress", "--output", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["shards"], summary["shards_reused"], summary["documents_encoded"]) == (3, 1, 35)
    index = load_index(out, use_cache=False)
    assert index.kind == "shards" and [len(s._ids) for s in index.shards] == [25, 25, 10]
    assert (out / "shard-1" / "faiss.index").stat().st_ino == inode  # linked, not encoded again
    assert not work.exists()
    assert [i for s in index.shards for i in s._ids] == [d.id for d in docs]
    assert np.allclose(np.concatenate([s.document_embeddings() for s in index.shards]), vectors, atol=1e-5)
    queries = [Query("q", "vitamin D and bone density")]
    expected = local.index_vectors(vectors, [d.id for d in docs]).search(queries, k=10)
    assert list(index.search(queries, k=10)["q"]) == list(expected["q"])


def synth_config() -> SynthConfig:
    cfg = SynthConfig(prompt_style="structured")
    cfg.negatives.miner, cfg.filters.roundtrip_k = "bm25", None
    cfg.negatives.skip_top, cfg.negatives.window = 1, 6
    cfg.vl.length_words = (40, 80)
    return cfg


def rows(path: Path) -> list[dict]:
    return sorted((json.loads(line) for line in open(path)), key=lambda r: r["meta"]["row_id"])


def ledger(path: Path) -> list[dict]:
    return sorted((json.loads(line) for line in open(state_dir(path) / "ledger.jsonl")), key=lambda e: e["key"])


def test_synthesis_on_ray_workers_writes_the_local_rows(cluster, corpus, tmp_path):
    from reasonir.scale.llm_pool import RayLLMPool

    docs = load_corpus(corpus)[:8]
    local = synthesize(docs, ScriptedLLM(scripted_answers), tmp_path / "local.jsonl", synth_config())
    with RayLLMPool(partial(ScriptedLLM, scripted_answers), workers=2) as pool:
        remote = synthesize(docs, pool, tmp_path / "ray.jsonl", synth_config())
        assert remote.usage["requests"] == local.usage["requests"] > 0
    assert rows(tmp_path / "ray.jsonl") == rows(tmp_path / "local.jsonl") and local.rows > 0
    assert ledger(tmp_path / "ray.jsonl") == ledger(tmp_path / "local.jsonl")
    assert (remote.kept, remote.dropped) == (local.kept, local.dropped)


def test_synthesize_cli_on_ray_reaches_an_endpoint_from_the_workers(cluster, corpus, tmp_path):
    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(open(corpus).readlines()[:5]))
    with ScriptedEndpoint() as endpoint:
        common = [str(docs), "--llm-base-url", endpoint.base_url, "--llm-no-cache", "--quiet", "--kinds", "hq",
                  "--miner", "bm25", "--roundtrip-k", "0", "--skip-top", "1", "--window", "3", "--output", "json"]
        assert main(["synthesize", "--out", str(tmp_path / "local.jsonl"), *common]) == 0
        local_requests = endpoint.requests
        assert main(["synthesize", "--out", str(tmp_path / "ray.jsonl"), "--backend", "ray", *common]) == 0
        assert endpoint.requests == 2 * local_requests
        # rerun: everything is in the ledger, nothing is asked again
        assert main(["synthesize", "--out", str(tmp_path / "ray.jsonl"), "--backend", "ray", *common]) == 0
        assert endpoint.requests == 2 * local_requests
    assert rows(tmp_path / "ray.jsonl") == rows(tmp_path / "local.jsonl") and rows(tmp_path / "local.jsonl")
