"""The first session and the dose review, whatever order the starts arrive in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hearth.followup.domain import patients
from hearth.followup.domain.mood import Baseline
from hearth.followup.domain.patients import Patient

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
FOUR_WEEKS = timedelta(weeks=4)


def test_the_first_start_sets_the_dose_review() -> None:
    p, due_at = patients.session_started(Patient("pt-001"), T0, FOUR_WEEKS)
    assert (p.first_session_at, p.dose_review_due_at, due_at) == (T0, T0 + FOUR_WEEKS, T0 + FOUR_WEEKS)


def test_a_later_start_changes_nothing() -> None:
    p, _ = patients.session_started(Patient("pt-001"), T0, FOUR_WEEKS)
    again, due_at = patients.session_started(p, T0 + timedelta(days=3), FOUR_WEEKS)
    assert due_at is None and again == p
    assert patients.session_started(p, T0, FOUR_WEEKS)[1] is None  # a repeat of the same start


def test_an_earlier_start_arriving_late_moves_the_review_earlier() -> None:
    p, _ = patients.session_started(Patient("pt-001"), T0 + timedelta(days=3), FOUR_WEEKS)
    p, due_at = patients.session_started(p, T0, FOUR_WEEKS)
    assert p.first_session_at == T0 and due_at == T0 + FOUR_WEEKS


def test_the_review_is_emitted_once_and_never_moved_after() -> None:
    p, _ = patients.session_started(Patient("pt-001"), T0, FOUR_WEEKS)
    p, event = patients.dose_review_due(p, T0 + FOUR_WEEKS)
    assert event is not None and (event.first_session_at, event.due_at) == (T0, T0 + FOUR_WEEKS)
    assert patients.dose_review_due(p, T0 + FOUR_WEEKS)[1] is None
    moved, due_at = patients.session_started(p, T0 - timedelta(days=1), FOUR_WEEKS)
    assert due_at is None and moved.first_session_at == T0 - timedelta(days=1)


def test_no_review_without_a_session() -> None:
    assert patients.dose_review_due(Patient("pt-001"), T0)[1] is None


def test_screening_keeps_the_most_recent_baseline() -> None:
    newer = Baseline("asm-2", 12, 8, T0 + timedelta(days=1))
    p = patients.screened(patients.screened(Patient("pt-001"), newer), Baseline("asm-1", 20, 14, T0))
    assert p.baseline == newer
