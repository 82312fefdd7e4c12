"""The patient view folded from events in any order, and what a start takes from it: number, dose, doses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import reduce

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hearth.session.domain import NoActiveApproval, Patient, Rules, StartRequest, start

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
RULES = Rules(check_in_offsets=(timedelta(0), timedelta(minutes=20)))
Step = Callable[[Patient], Patient]


def approved(approval: str = "apr-1", dose: int = 200, at: datetime = NOW - timedelta(days=5)) -> Step:
    return lambda p: p.with_approved(approval, plan="foundation", dose_count=8, starting_dose_mg=dose, at=at)


def revoked(approval: str = "apr-1") -> Step:
    return lambda p: p.with_revoked(approval, at=NOW - timedelta(days=1))


def shipped(box: int = 1, approval: str = "apr-1", doses: int = 4) -> Step:
    return lambda p: p.with_box_shipped(approval, "ord-1", box, doses)


def delivered(box: int = 1, approval: str = "apr-1", doses: int = 4) -> Step:
    return lambda p: p.with_box_delivered(approval, "ord-1", box, doses, at=NOW - timedelta(days=3))


def fold(steps: list[Step]) -> Patient:
    return reduce(lambda p, step: step(p), steps, Patient("pt-0001"))


def request(dose_mg: int | None = None, at: datetime = NOW) -> StartRequest:
    return StartRequest(120, 80, at, True, dose_mg)


def finished(patient: Patient) -> Patient:
    """The patient once their running session closed."""
    return replace(patient, sessions=tuple(replace(s, in_progress=False) for s in patient.sessions))


EVENTS: list[Step] = [approved(), shipped(1), delivered(1), shipped(2), delivered(2)]


@given(st.permutations(EVENTS))
def test_any_arrival_order_gives_the_same_patient(order: list[Step]) -> None:
    assert fold(order) == fold(EVENTS)
    assert fold(order).doses_on_hand == 8


@given(st.lists(st.sampled_from(EVENTS), min_size=1, max_size=12))
def test_duplicates_have_no_second_effect(steps: list[Step]) -> None:
    assert fold(steps + steps) == fold(steps)


def test_box_delivered_before_approved_still_counts() -> None:
    patient = fold([delivered(1, doses=8), approved()])
    assert patient.doses_on_hand == 8
    _, session = start(patient, request(), RULES, now=NOW, session_id="ses-1")
    assert session.approval_id == "apr-1"


@given(st.permutations([approved(), revoked(), delivered()]))
def test_a_revocation_stays_whatever_the_order(order: list[Step]) -> None:
    patient = fold(order)
    assert patient.active_approval is None
    assert patient.doses_on_hand == 0


def test_doses_count_only_for_the_active_approval() -> None:
    patient = fold(
        [approved("apr-1"), delivered(1, "apr-1"), revoked("apr-1"), approved("apr-2", at=NOW - timedelta(hours=1))]
    )
    assert patient.active_approval is not None and patient.active_approval.approval_id == "apr-2"
    assert patient.doses_on_hand == 0


def test_first_two_sessions_are_dose_finding_at_the_starting_dose() -> None:
    patient = fold([approved(dose=150), delivered(doses=8)])
    numbers = []
    for i in range(3):
        at = NOW + timedelta(days=3 * i)
        patient, session = start(patient, request(at=at), RULES, now=at, session_id=f"s{i}")
        patient = finished(patient)
        numbers.append((session.session_number, session.dose_finding, session.dose_mg))
    assert numbers == [(1, True, 150), (2, True, 150), (3, False, 150)]
    assert patient.doses_on_hand == 5


def test_a_clinician_dose_holds_from_then_on() -> None:
    patient = fold([approved(dose=200), delivered(doses=8)]).with_dose(300)
    patient, first = start(patient, request(), RULES, now=NOW, session_id="s1")
    assert first.dose_mg == 300
    later = NOW + timedelta(days=2)
    patient, second = start(finished(patient), request(dose_mg=450, at=later), RULES, now=later, session_id="s2")
    assert second.dose_mg == 450
    assert patient.active_approval is not None and patient.active_approval.current_dose_mg == 450


def test_a_dose_needs_an_active_approval_and_the_range() -> None:
    with pytest.raises(NoActiveApproval):
        fold([delivered()]).with_dose(200)
    for dose in (99, 601):
        with pytest.raises(ValueError, match="outside"):
            fold([approved()]).with_dose(dose)
    assert fold([approved()]).with_dose(600).active_approval is not None
