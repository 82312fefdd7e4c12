"""The start gate: each condition alone, all of them together, and their boundaries."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hearth.session.domain import (
    GATE_CONDITIONS,
    GateRefused,
    PastSession,
    Patient,
    Rules,
    StartRequest,
    failed_conditions,
    start,
)

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
RULES = Rules(check_in_offsets=tuple(timedelta(minutes=m) for m in (0, 20, 40, 60, 90, 120)))


def ready(doses: int = 8) -> Patient:
    """A patient who may start: an active approval and a delivered box."""
    return (
        Patient("pt-0001")
        .with_approved("apr-1", plan="foundation", dose_count=8, starting_dose_mg=200, at=NOW - timedelta(days=9))
        .with_box_delivered("apr-1", "ord-1", 1, doses, at=NOW - timedelta(days=2))
    )


def good(**changes: object) -> StartRequest:
    request = StartRequest(systolic=120, diastolic=80, taken_at=NOW - timedelta(minutes=5), support_person_present=True)
    return replace(request, **changes)  # type: ignore[arg-type]


def past(minutes_ago: float, *, in_progress: bool = False, approval: str = "apr-1") -> PastSession:
    return PastSession(f"ses-{minutes_ago}", approval, NOW - timedelta(minutes=minutes_ago), in_progress)


def with_sessions(patient: Patient, *sessions: PastSession) -> Patient:
    return replace(patient, sessions=(*patient.sessions, *sessions))


def test_a_ready_patient_with_a_good_reading_passes() -> None:
    assert failed_conditions(ready(), good(), RULES, NOW) == []


ALONE = {
    "no_active_approval": (ready().with_revoked("apr-1", at=NOW), good()),
    "blood_pressure_high": (ready(), good(systolic=150)),
    "blood_pressure_stale": (ready(), good(taken_at=NOW - timedelta(minutes=31))),
    "blood_pressure_in_future": (ready(), good(taken_at=NOW + timedelta(minutes=6))),
    "no_support_person": (ready(), good(support_person_present=False)),
    "too_soon": (with_sessions(ready(), past(60 * 47)), good()),
}


@pytest.mark.parametrize("code", sorted(ALONE))
def test_each_condition_alone_is_the_only_one_named(code: str) -> None:
    patient, request = ALONE[code]
    failed = failed_conditions(patient, request, RULES, NOW)
    # Without an active approval no doses count either: that pair always comes together.
    expected = [code, "no_doses_on_hand"] if code == "no_active_approval" else [code]
    assert sorted(failed) == sorted(expected)


def test_no_doses_alone_when_no_box_was_delivered() -> None:
    patient = (
        Patient("pt-0001")
        .with_approved("apr-1", plan="foundation", dose_count=8, starting_dose_mg=200, at=NOW)
        .with_box_shipped("apr-1", "ord-1", 1, 8)
    )
    assert failed_conditions(patient, good(), RULES, NOW) == ["no_doses_on_hand"]


def test_no_doses_alone_when_every_delivered_dose_was_taken() -> None:
    sessions = [past(60 * 24 * (3 * i + 3)) for i in range(2)]
    assert failed_conditions(with_sessions(ready(doses=2), *sessions), good(), RULES, NOW) == ["no_doses_on_hand"]
    assert failed_conditions(with_sessions(ready(doses=3), *sessions), good(), RULES, NOW) == []


def test_session_in_progress_alone() -> None:
    patient = with_sessions(ready(), past(60 * 49, in_progress=True))
    assert failed_conditions(patient, good(), RULES, NOW) == ["session_in_progress"]


def test_every_failed_condition_is_listed_together() -> None:
    patient = with_sessions(Patient("pt-0002"), past(30, in_progress=True))
    request = good(systolic=141, diastolic=91, taken_at=NOW - timedelta(hours=2), support_person_present=False)
    failed = failed_conditions(patient, request, RULES, NOW)
    assert failed == [c for c in GATE_CONDITIONS if c != "blood_pressure_in_future"]
    with pytest.raises(GateRefused) as refused:
        start(patient, request, RULES, now=NOW, session_id="ses-x")
    assert refused.value.failed == failed


@pytest.mark.parametrize(
    ("systolic", "diastolic", "high"),
    [(140, 90, False), (141, 90, True), (140, 91, True), (139, 89, False), (200, 60, True), (90, 120, True)],
)
def test_blood_pressure_boundary_is_140_over_90_inclusive(systolic: int, diastolic: int, high: bool) -> None:
    failed = failed_conditions(ready(), good(systolic=systolic, diastolic=diastolic), RULES, NOW)
    assert ("blood_pressure_high" in failed) is high


@given(st.integers(50, 300), st.integers(20, 200))
def test_blood_pressure_high_exactly_above_either_limit(systolic: int, diastolic: int) -> None:
    failed = failed_conditions(ready(), good(systolic=systolic, diastolic=diastolic), RULES, NOW)
    assert ("blood_pressure_high" in failed) is (systolic > 140 or diastolic > 90)


@pytest.mark.parametrize(
    ("age", "stale"),
    [(timedelta(minutes=30), False), (timedelta(minutes=30, microseconds=1), True), (timedelta(0), False)],
)
def test_reading_older_than_30_minutes_is_stale(age: timedelta, stale: bool) -> None:
    failed = failed_conditions(ready(), good(taken_at=NOW - age), RULES, NOW)
    assert ("blood_pressure_stale" in failed) is stale


@given(st.integers(-10 * 60, 3 * 3600))
def test_reading_age_against_the_configured_limit(age_seconds: int) -> None:
    rules = replace(RULES, bp_max_age=timedelta(minutes=10))
    failed = failed_conditions(ready(), good(taken_at=NOW - timedelta(seconds=age_seconds)), rules, NOW)
    assert ("blood_pressure_stale" in failed) is (age_seconds > 600)
    assert ("blood_pressure_in_future" in failed) is (age_seconds < -300)


@pytest.mark.parametrize(
    ("since", "too_soon"),
    [
        (timedelta(hours=48), False),
        (timedelta(hours=48) - timedelta(microseconds=1), True),
        (timedelta(hours=49), False),
        (timedelta(hours=1), True),
    ],
)
def test_interval_boundary_is_48_hours_exactly(since: timedelta, too_soon: bool) -> None:
    patient = with_sessions(ready(), PastSession("ses-1", "apr-1", NOW - since, in_progress=False))
    assert ("too_soon" in failed_conditions(patient, good(), RULES, NOW)) is too_soon


@given(st.integers(0, 96 * 60))
def test_interval_against_the_configured_minimum(minutes_since: int) -> None:
    rules = replace(RULES, min_interval=timedelta(hours=24))
    patient = with_sessions(ready(), past(minutes_since))
    assert ("too_soon" in failed_conditions(patient, good(), rules, NOW)) is (minutes_since < 24 * 60)


def test_the_interval_counts_from_the_last_of_several_sessions() -> None:
    patient = with_sessions(ready(), past(60 * 24 * 10), past(60 * 24), past(60 * 24 * 5))
    assert failed_conditions(patient, good(), RULES, NOW) == ["too_soon"]
