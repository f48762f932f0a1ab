"""Statistics of the report: Wilson intervals, exact McNemar, paired bootstrap, and the summary of records."""
from __future__ import annotations

import pytest

from reasonir.rag.report import mcnemar_exact, summarize, wilson


def test_wilson_matches_published_values() -> None:
    # statsmodels proportion_confint(8, 10, method="wilson") = (0.4902, 0.9433); (0, 10) = (0, 0.2775)
    assert wilson(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)


def test_mcnemar_exact_is_a_two_sided_binomial_test() -> None:
    assert mcnemar_exact(9, 1) == pytest.approx(22 / 1024)
    assert mcnemar_exact(5, 5) == 1.0 and mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(1, 9) == mcnemar_exact(9, 1)


def _row(qid: str, mode: str, correct: bool, how: str = "bare", subject: str = "s", hit: bool | None = None,
         gold: str = "A") -> dict:
    return {"question_id": qid, "mode": mode, "correct": correct, "how": how, "subject": subject, "n_choices": 4,
            "evidence_hit": hit, "gold": gold}


def test_summary_per_mode_subject_change_parse_and_hit_rate() -> None:
    rows = [_row("1", "closed-book", False, "ambiguous", "bio"), _row("1", "retrieval", True, "marker", "bio", True),
            _row("2", "closed-book", True, subject="bio"), _row("2", "retrieval", False, subject="bio", hit=False),
            _row("3", "closed-book", False, "no_letter", "law"), _row("3", "retrieval", True, subject="law", hit=True),
            _row("4", "closed-book", True, subject="law", gold="B"),
            _row("4", "retrieval", True, subject="law", hit=False, gold="B")]
    r = summarize(rows)
    assert r.questions == 4 and r.chance == 0.25 and r.majority == 0.75
    closed, rag = r.modes["closed-book"], r.modes["retrieval"]
    assert closed.accuracy.correct == 2 and rag.accuracy.correct == 3
    assert closed.parsed == 2 and closed.parse_rate == 0.5 and closed.no_answer == {"ambiguous": 1, "no_letter": 1}
    assert rag.by_subject["law"].accuracy == 1.0 and closed.by_subject["bio"].accuracy == 0.5
    assert (r.change.wins, r.change.losses, r.change.delta) == (2, 1, 0.25)
    assert r.change.by_subject == {"bio": 0.0, "law": 0.5}
    h = r.hit_rate
    assert (h.hits, h.n, h.accuracy_when_hit, h.accuracy_when_missed) == (2, 4, 1.0, 0.5)
    text = r.to_text()
    assert "bio" in text and "law" in text and "McNemar" in text and "evidence hit rate" in text
    assert r.as_dict()["change"]["wins"] == 2


def test_closed_book_only_has_no_change_and_no_hit_rate() -> None:
    r = summarize([_row("1", "closed-book", True), _row("2", "closed-book", False)])
    assert r.change is None and r.hit_rate is None and "retrieval" not in r.modes
    assert "change" not in r.to_text()
