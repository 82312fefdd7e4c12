"""Percent change, response and remission at their boundaries; scoring of submissions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hearth.followup.domain import mood
from hearth.followup.domain.mood import Baseline

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("baseline", "score", "expected"),
    [(10, 5, -50.0), (20, 10, -50.0), (18, 9, -50.0), (18, 18, 0.0), (10, 15, 50.0), (3, 1, -66.7), (27, 0, -100.0)],
)
def test_percent_change(baseline: int, score: int, expected: float) -> None:
    assert mood.percent_change(baseline, score) == expected


def test_percent_change_from_a_zero_baseline_is_undefined() -> None:
    assert mood.percent_change(0, 0) is None
    assert mood.percent_change(0, 7) is None
    assert mood.reduction_pct(0, 3) is None


def test_exactly_half_the_baseline_is_a_response() -> None:
    assert mood.is_response(10, 5) is True
    assert mood.is_response(20, 10) is True


def test_just_above_half_the_baseline_is_not_a_response() -> None:
    assert mood.is_response(10, 6) is False
    assert mood.is_response(19, 10) is False  # 47.4% down
    assert mood.is_response(19, 9) is True  # 52.6% down


def test_odd_baseline_needs_more_than_the_rounded_half() -> None:
    # 15 -> 7 is 53% down, 15 -> 8 is 46.7% down
    assert mood.is_response(15, 7) is True
    assert mood.is_response(15, 8) is False


def test_a_zero_baseline_has_no_response_but_remission_still_applies() -> None:
    assert mood.is_response(0, 0) is None
    assert mood.is_remission(0) is True


def test_remission_is_below_five() -> None:
    assert mood.is_remission(4) is True
    assert mood.is_remission(5) is False
    assert mood.is_remission(0) is True
    assert mood.is_remission(27) is False


@given(st.integers(min_value=1, max_value=27), st.integers(min_value=0, max_value=27))
def test_response_is_exactly_a_fifty_percent_reduction(baseline: int, score: int) -> None:
    exact = Fraction(baseline - score, baseline)
    assert mood.is_response(baseline, score) is (exact >= Fraction(1, 2))


@given(st.integers(min_value=1, max_value=27), st.integers(min_value=0, max_value=27))
def test_percent_change_sign_follows_the_score(baseline: int, score: int) -> None:
    change = mood.percent_change(baseline, score)
    assert change is not None
    assert (change < 0) == (score < baseline) or abs(change) < 0.05
    assert change >= -100.0


def test_measure_totals_and_self_harm_item() -> None:
    m = mood.measure("m1", "pt-1", T0, (1, 1, 1, 1, 1, 1, 1, 1, 2), (3, 3, 3, 3, 3, 3, 3))
    assert (m.phq9, m.gad7, m.self_harm_answer) == (10, 21, 2)
    assert mood.needs_urgent_review(m)


def test_item_nine_at_zero_needs_no_urgent_review() -> None:
    m = mood.measure("m1", "pt-1", T0, (3, 3, 3, 3, 3, 3, 3, 3, 0), None)
    assert m.gad7 is None
    assert not mood.needs_urgent_review(m)


def test_gad7_only_has_no_self_harm_answer() -> None:
    m = mood.measure("m1", "pt-1", T0, None, (0, 0, 0, 0, 0, 0, 1))
    assert m.phq9 is None and m.self_harm_answer is None
    assert not mood.needs_urgent_review(m)


@pytest.mark.parametrize(
    ("phq9", "gad7"),
    [
        (None, None),
        ((1,) * 8, None),
        ((1,) * 9 + (1,), None),
        ((4,) + (0,) * 8, None),
        (None, (0,) * 6),
        (None, (-1,) * 7),
    ],
)
def test_measure_refuses_malformed_answers(phq9: tuple[int, ...] | None, gad7: tuple[int, ...] | None) -> None:
    with pytest.raises(ValueError, match="answers"):
        mood.measure("m1", "pt-1", T0, phq9, gad7)


def test_the_most_recent_screening_is_the_baseline_whatever_the_arrival_order() -> None:
    old = Baseline("asm-1", 20, 15, T0)
    new = Baseline("asm-2", 16, 10, T0 + timedelta(days=3))
    assert mood.newer_baseline(None, old) == old
    assert mood.newer_baseline(old, new) == new
    assert mood.newer_baseline(new, old) == new
    assert mood.newer_baseline(old, Baseline("asm-3", 1, 1, T0)) == old
