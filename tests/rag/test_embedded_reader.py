"""Against the real reader: the embedded SmolLM2-135M answering a handful of MMLU questions and SciFact claims
with a real BM25 index over the bundled SciFact sample, through the Python API and the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import MMLU, SCIFACT, needs, needs_llama_server
from endpoints import embedded_server_fixture, llm_for

from reasonir.cli import main
from reasonir.rag import Datastore, RAGConfig, answer_questions, load_questions

pytestmark = needs_llama_server
smollm2 = embedded_server_fixture(scope="module")
SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "scifact-sample"
FIXTURES = Path(__file__).parent / "fixtures"
SCIFACT_ZIP = SCIFACT / "original_csv" / "scifact_csv.zip"


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rag") / "idx"
    assert main(["index", str(SAMPLE), "--retriever", "bm25", "--out", str(out), "--no-progress"]) == 0
    return out


@needs(SCIFACT_ZIP)
@needs(MMLU)
def test_real_reader_answers_claims_and_questions_both_ways(smollm2, sample_index: Path,  # type: ignore[no-untyped-def]
                                                            tmp_path: Path) -> None:
    corpus = {json.loads(line)["_id"] for line in open(SAMPLE / "corpus.jsonl", encoding="utf-8")}
    claims = [q for q in load_questions(SCIFACT_ZIP).questions if set(q.evidence_ids) <= corpus][:2]
    mmlu = load_questions(MMLU / "test" / "college_biology_test.csv").questions[:1]
    records = tmp_path / "records.jsonl"
    with llm_for(smollm2.base_url, cache_path=tmp_path / "c.sqlite", timeout_s=120) as llm:
        report = answer_questions(claims + mmlu, llm, datastore=Datastore.from_index(sample_index),
                                  config=RAGConfig(k=2, doc_chars=400, context_window=2048), records=records)
    rows = [json.loads(line) for line in records.read_text().splitlines()]
    assert len(rows) == 6 and report.run["failed"] == 0
    assert all(r["raw_answer"] for r in rows)  # the reader wrote something every time
    rag_rows = [r for r in rows if r["mode"] == "retrieval"]
    assert all(len(r["retrieved_ids"]) == 2 and r["context_ids"] for r in rag_rows)
    # BM25 over the sample finds SciFact's gold abstract for these claims (the retriever works, whatever the reader)
    assert report.hit_rate.n == 2 and report.hit_rate.hits >= 1
    for r in rows:  # every output is a letter or an explicit no-answer with its reason
        assert (r["letter"] is None) == (r["how"] in ("ambiguous", "no_letter", "empty"))
        assert r["correct"] == (r["letter"] == r["gold"])
    assert report.modes["closed-book"].accuracy.n == 3 and report.modes["retrieval"].accuracy.n == 3
    assert {"scifact", "college_biology"} <= set(report.modes["retrieval"].by_subject)


def test_cli_on_gpqa_format_with_the_real_reader_resumes(  # type: ignore[no-untyped-def]
        smollm2, sample_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = tmp_path / "records.jsonl"
    argv = ["rag", "--questions", str(FIXTURES / "gpqa_tiny.csv"), "--index", str(sample_index), "--k", "1",
            "--doc-chars", "300", "--limit", "2",
            "--records", str(records), "--output", "json", "--llm-base-url", smollm2.base_url,
            "--llm-cache", str(tmp_path / "c.sqlite")]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["questions"] == 2 and out["run"]["answered"] == 4 and out["settings"]["k"] == 1
    assert set(out["modes"]) == {"closed-book", "retrieval"} and out["change"]["n"] == 2
    assert out["settings"]["questions_format"] == "gpqa" and out["hit_rate"] is None
    assert main(argv[:-4] + ["--output", "text", "--llm-base-url", smollm2.base_url, "--llm-cache",
                             str(tmp_path / "c.sqlite")]) == 0
    text = capsys.readouterr().out
    assert "0 new, 4 resumed" in text and "change with retrieval" in text and "parsed (retrieval)" in text
    assert len(records.read_text().splitlines()) == 4


def test_cli_bad_input_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"question": "q", "choices": ["a", "b"], "answer": 5}\n')
    assert main(["rag", "--questions", str(bad), "--records", str(tmp_path / "r.jsonl")]) == 2
    assert "q.jsonl:1: answer" in capsys.readouterr().err
    assert main(["rag", "--questions", str(FIXTURES / "gpqa_tiny.csv"), "--modes", "retrieval"]) == 2
    assert "--index" in capsys.readouterr().err
    assert main(["rag", "--questions", str(FIXTURES / "gpqa_tiny.csv"), "--subjects", "Astrology"]) == 2
    assert "Astrology" in capsys.readouterr().err
    assert main(["rag", "--questions", str(FIXTURES / "gpqa_tiny.csv"), "--prompts", str(tmp_path / "nope")]) == 3
