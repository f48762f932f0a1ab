"""Question loaders: MMLU (both layouts), GPQA, JSONL, SciFact claims; errors name file, line and field."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from reasonir.data import DataError
from reasonir.rag.questions import load_questions
from conftest import MMLU, SCIFACT, needs

FIXTURES = Path(__file__).parent / "fixtures"
ANATOMY = MMLU / "test" / "anatomy_test.csv"
SCIFACT_ZIP = SCIFACT / "original_csv" / "scifact_csv.zip"


@needs(ANATOMY)
def test_mmlu_with_header_from_shared_data() -> None:
    qs = load_questions(ANATOMY)
    assert qs.format == "mmlu" and len(qs.questions) == 135  # anatomy test split
    q = qs.questions[0]
    assert q.id == "anatomy/2" and q.subject == "anatomy" and len(q.choices) == 4
    assert q.text.startswith("A lesion causing compression of the facial nerve") and q.letter == "A"
    assert all(c in q.retrieval_text for c in q.choices)  # retrieval sees the options too


@needs(MMLU)
def test_mmlu_folder_loads_every_subject_and_matches_the_readme_counts() -> None:
    qs = load_questions(MMLU / "test")
    assert len(qs.questions) == 14042 and len({q.subject for q in qs.questions}) == 57
    counts = [sum(q.letter == x for q in qs.questions) for x in "ABCD"]
    assert counts == [3222, 3462, 3582, 3776]  # README.txt's answer distribution


@needs(ANATOMY)
def test_original_headerless_layout_gives_the_same_questions(tmp_path: Path) -> None:
    with open(ANATOMY, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    original = tmp_path / "anatomy_test.csv"
    with open(original, "w", encoding="utf-8", newline="") as fh:  # hendrycks' layout: no header, answer A-D
        csv.writer(fh).writerows([*r[:5], "ABCD"[int(r[5])]] for r in rows)
    a, b = load_questions(ANATOMY).questions, load_questions(original)
    assert b.format == "mmlu-original"
    assert [(q.text, q.choices, q.answer, q.subject) for q in a] == [
        (q.text, q.choices, q.answer, q.subject) for q in b.questions]


def test_mmlu_bad_answer_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "x_test.csv"
    path.write_text('question,choice0,choice1,choice2,choice3,answer\n"q1",a,b,c,d,0\n"multi\nline",a,b,c,d,7\n')
    with pytest.raises(DataError, match=r"x_test.csv:3: answer: expected 0-3, got '7'"):
        load_questions(path)
    path.write_text('question,choice0,choice1,choice2,choice3,answer\nq1,a,,c,d,0\n')
    with pytest.raises(DataError, match=r"x_test.csv:2: choice1: empty"):
        load_questions(path)


def test_gpqa_options_are_shuffled_with_a_fixed_seed() -> None:
    path = FIXTURES / "gpqa_tiny.csv"
    qs = load_questions(path)
    assert qs.format == "gpqa" and [q.id for q in qs.questions] == ["rec001", "rec002", "rec003"]
    correct = ["DNA ligase", "Inversion of configuration", "hbar*omega/2"]
    assert [q.choices[q.answer] for q in qs.questions] == correct
    assert all(len(q.choices) == 4 for q in qs.questions)
    assert qs.questions[1].source.endswith("gpqa_tiny.csv:3") and qs.questions[2].source.endswith(":5")
    again = load_questions(path)
    assert [q.choices for q in again.questions] == [q.choices for q in qs.questions]  # same seed, same order
    other = [load_questions(path, seed=s).questions for s in range(1, 6)]
    assert any([q.choices for q in o] != [q.choices for q in qs.questions] for o in other)
    assert {q.answer for o in other for q in o} != {0}  # the right answer does not stay first


def test_gpqa_missing_column_and_empty_cell(tmp_path: Path) -> None:
    bad = tmp_path / "gpqa.csv"
    bad.write_text("Question,Correct Answer,Incorrect Answer 1,Incorrect Answer 2,Incorrect Answer 3\n"
                   "What?,yes,no,maybe,\n")
    with pytest.raises(DataError, match=r"gpqa.csv:2: Incorrect Answer 3: empty"):
        load_questions(bad, format="gpqa")
    bad.write_text("Question,Correct Answer\nWhat?,yes\n")
    with pytest.raises(DataError, match=r"gpqa.csv:1: Incorrect Answer 1: missing GPQA column"):
        load_questions(bad, format="gpqa")


def test_jsonl_answers_as_index_letter_or_text_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    rows = [{"id": "x", "question": "2+2?", "choices": ["3", "4"], "answer": 1, "subject": "math"},
            {"question": "Sky?", "choices": ["blue", "green", "red"], "answer": "c"},
            {"question": "Sea?", "choices": ["wet", "dry"], "answer": "wet", "evidence_ids": ["d1"], "query": "sea"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    qs = load_questions(path).questions
    assert [(q.id, q.letter) for q in qs] == [("x", "B"), ("2", "C"), ("3", "A")]
    assert qs[2].evidence_ids == ("d1",) and qs[2].retrieval_text == "sea" and qs[0].subject == "math"
    path.write_text(json.dumps(rows[0]) + "\n" + json.dumps({**rows[1], "answer": "E"}) + "\n")
    with pytest.raises(DataError, match=r"q.jsonl:2: answer: expected an index 0-2, a letter A-C"):
        load_questions(path)
    path.write_text('{"question": "q", "choices": ["a"], "answer": 0}\n')
    with pytest.raises(DataError, match=r"q.jsonl:1: choices"):
        load_questions(path)
    path.write_text('{"question": "q", "answer": 0}\n')
    with pytest.raises(DataError, match=r"q.jsonl:1: choices: missing field"):
        load_questions(path)
    path.write_text('{"question": \n')
    with pytest.raises(DataError, match=r"q.jsonl:1: malformed JSON"):
        load_questions(path)


def test_unrecognised_csv_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match=r"odd.csv:1: unrecognised question file"):
        load_questions(path)


@needs(SCIFACT_ZIP)
def test_scifact_claims_become_two_way_questions_with_gold_evidence() -> None:
    qs = load_questions(SCIFACT_ZIP)  # claims_validation.csv: BEIR's SciFact test claims
    assert qs.format == "scifact" and qs.skipped["no_evidence"] > 0
    by_id = {q.id: q for q in qs.questions}
    assert by_id["5"].letter == "A" and by_id["5"].evidence_ids == ("13734012",)  # SUPPORT
    assert by_id["42"].letter == "B" and by_id["42"].choices == ("Supported", "Contradicted")  # CONTRADICT
    assert by_id["3"].evidence_ids == ("14717500",)  # two evidence rows, one document
    assert "1/2000 in UK have abnormal PrP positivity." in by_id["5"].text
    assert by_id["5"].retrieval_text == "1/2000 in UK have abnormal PrP positivity."
    corpus_ids = {json.loads(line)["_id"] for line in open(SCIFACT / "corpus.jsonl", encoding="utf-8")}
    assert all(set(q.evidence_ids) <= corpus_ids for q in qs.questions)
    assert "1" not in by_id  # a claim without evidence (not enough info) is skipped
    assert len(load_questions(SCIFACT_ZIP, split="train").questions) > len(qs.questions)


@needs(SCIFACT_ZIP)
def test_scifact_bad_label_and_missing_split(tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    path.write_text("id,claim,evidence_doc_id,evidence_label,evidence_sentences,cited_doc_ids\n"
                    "1,Claim one.,11,SUPPORT,[1],[11]\n2,Claim two.,12,MAYBE,[1],[12]\n")
    with pytest.raises(DataError, match=r"claims.csv:3: evidence_label: expected SUPPORT or CONTRADICT"):
        load_questions(path)
    with pytest.raises(DataError, match=r"split: no claims_dev.csv"):
        load_questions(SCIFACT_ZIP, split="dev")
