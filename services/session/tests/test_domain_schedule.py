"""The check-in schedule of a session: misses, their count and escalation, late check-ins, closing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hearth.contracts import AdverseEventKind, SessionStarted
from hearth.session.schedule import Escalation, Session, SessionRefused, adverse_event, begin, close, miss, record

T0 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
OFFSETS = tuple(timedelta(minutes=m) for m in (0, 20, 40, 60, 90, 120))
GRACE = timedelta(minutes=5)
ESCALATION = Escalation()


def session(offsets: tuple[timedelta, ...] = OFFSETS) -> Session:
    return begin(
        session_id="ses-1",
        patient_id="pt-0001",
        approval_id="apr-1",
        session_number=1,
        dose_mg=200,
        dose_finding=True,
        now=T0,
        offsets=offsets,
    )


def deadline(s: Session, index: int) -> datetime:
    return s.check_ins[index].due_at + GRACE


def test_check_ins_are_due_at_the_offsets_from_the_start() -> None:
    s = session()
    assert [c.due_at for c in s.check_ins] == [T0 + o for o in OFFSETS]
    started = s.started_event()
    assert isinstance(started, SessionStarted)
    assert started.check_ins_due == tuple(T0 + o for o in OFFSETS)
    assert s.auto_close_at(GRACE) == T0 + timedelta(minutes=125)


@pytest.mark.parametrize(("misses", "level"), [(1, 1), (2, 2), (3, 3), (4, 3), (24, 3)])
def test_default_escalation(misses: int, level: int) -> None:
    assert ESCALATION.level(misses) == level


@given(st.integers(1, 10), st.integers(1, 10), st.integers(1, 30))
def test_escalation_follows_the_configured_thresholds(support: int, extra: int, misses: int) -> None:
    escalation = Escalation(support_person_at=support, emergency_at=support + extra - 1)
    expected = 3 if misses >= support + extra - 1 else 2 if misses >= support else 1
    assert escalation.level(misses) == expected


def test_consecutive_misses_count_up_and_escalate() -> None:
    s = session()
    published = []
    for i in range(4):
        s, missed = miss(s, i, now=deadline(s, i), escalation=ESCALATION)
        assert missed is not None
        published.append((missed.check_in_index, missed.consecutive_misses, missed.escalation_level))
        assert missed.due_at == s.check_ins[i].due_at
    assert published == [(0, 1, 1), (1, 2, 2), (2, 3, 3), (3, 4, 3)]
    assert s.missed_check_ins == 4


def test_a_check_in_on_time_means_no_miss_and_resets_the_count() -> None:
    s = session()
    s, _ = miss(s, 0, now=deadline(s, 0), escalation=ESCALATION)
    s = record(s, 1, now=s.check_ins[1].due_at, early_window=GRACE)
    assert s.check_ins[1].status == "done"
    assert s.consecutive_misses == 0
    s, missed = miss(s, 1, now=deadline(s, 1), escalation=ESCALATION)
    assert missed is None
    s, missed = miss(s, 2, now=deadline(s, 2), escalation=ESCALATION)
    assert missed is not None and missed.consecutive_misses == 1


def test_a_check_in_after_its_miss_is_late_and_resets_the_count() -> None:
    s = session()
    s, _ = miss(s, 0, now=deadline(s, 0), escalation=ESCALATION)
    s, _ = miss(s, 1, now=deadline(s, 1), escalation=ESCALATION)
    assert s.consecutive_misses == 2
    s = record(s, 1, now=deadline(s, 1) + timedelta(minutes=1), early_window=GRACE)
    assert s.check_ins[1].status == "late"
    assert s.consecutive_misses == 0
    s, missed = miss(s, 2, now=deadline(s, 2), escalation=ESCALATION)
    assert missed is not None and (missed.consecutive_misses, missed.escalation_level) == (1, 1)
    assert s.missed_check_ins == 3  # late ones were missed too: their miss was published


@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=6, max_size=6))
def test_the_count_is_the_misses_since_the_last_recorded_check_in(plan: list[tuple[bool, bool]]) -> None:
    """Per check-in: recorded on time or missed; a missed one may then be recorded late."""
    s, expected = session(), 0
    for i, (on_time, late_after) in enumerate(plan):
        if on_time:
            s, expected = record(s, i, now=s.check_ins[i].due_at, early_window=GRACE), 0
            continue
        s, missed = miss(s, i, now=deadline(s, i), escalation=ESCALATION)
        expected += 1
        assert missed is not None and missed.consecutive_misses == expected
        if late_after:
            s, expected = record(s, i, now=deadline(s, i), early_window=GRACE), 0
        assert s.consecutive_misses == expected


def test_recording_is_refused_twice_too_early_out_of_range_and_after_closing() -> None:
    s = record(session(), 0, now=T0, early_window=GRACE)
    refusals = {
        "check_in_already_recorded": lambda: record(s, 0, now=T0, early_window=GRACE),
        "check_in_not_yet_due": lambda: record(
            s, 1, now=T0 + timedelta(minutes=15) - timedelta(seconds=1), early_window=GRACE
        ),
        "unknown_check_in": lambda: record(s, 6, now=T0, early_window=GRACE),
    }
    for code, attempt in refusals.items():
        with pytest.raises(SessionRefused) as refused:
            attempt()
        assert refused.value.code == code
    assert record(s, 1, now=T0 + timedelta(minutes=15), early_window=GRACE).check_ins[1].status == "done"
    closed, _, _ = close(s, now=T0, closed_by="clinician", grace=GRACE, escalation=ESCALATION)
    with pytest.raises(SessionRefused) as refused:
        record(closed, 1, now=T0 + timedelta(minutes=20), early_window=GRACE)
    assert refused.value.code == "session_completed"


def test_clinician_close_cancels_what_is_not_yet_due() -> None:
    s = record(session(), 0, now=T0, early_window=GRACE)
    s, misses, completed = close(
        s, now=T0 + timedelta(minutes=10), closed_by="clinician", grace=GRACE, escalation=ESCALATION
    )
    assert misses == []
    assert [c.status for c in s.check_ins] == ["done"] + ["cancelled"] * 5
    assert (completed.closed_by, completed.missed_check_ins, completed.session_number) == ("clinician", 0, 1)
    assert not s.in_progress
    s, missed = miss(s, 1, now=deadline(s, 1), escalation=ESCALATION)
    assert missed is None
    with pytest.raises(SessionRefused):
        close(s, now=T0, closed_by="clinician", grace=GRACE, escalation=ESCALATION)


def test_auto_close_publishes_the_misses_whose_timers_had_not_fired_yet() -> None:
    s = session()
    s, _ = miss(s, 0, now=deadline(s, 0), escalation=ESCALATION)
    s = record(s, 1, now=s.check_ins[1].due_at, early_window=GRACE)
    at = s.auto_close_at(GRACE)
    s, misses, completed = close(s, now=at, closed_by="auto", grace=GRACE, escalation=ESCALATION)
    assert [(m.check_in_index, m.consecutive_misses) for m in misses] == [(2, 1), (3, 2), (4, 3), (5, 4)]
    assert completed.missed_check_ins == 5 and completed.closed_by == "auto"
    assert completed.ended_at == at


def test_a_miss_exactly_at_the_deadline_is_settled_by_close() -> None:
    s = session((timedelta(0), timedelta(seconds=10)))
    _, misses, _ = close(s, now=deadline(s, 1), closed_by="auto", grace=GRACE, escalation=ESCALATION)
    assert [m.check_in_index for m in misses] == [0, 1]
    _, misses, _ = close(
        s, now=deadline(s, 1) - timedelta(microseconds=1), closed_by="auto", grace=GRACE, escalation=ESCALATION
    )
    assert [m.check_in_index for m in misses] == [0]


def test_adverse_events_during_or_after_the_session_only() -> None:
    s = session()
    reported = adverse_event(
        s,
        adverse_event_id="ae-1",
        kind=AdverseEventKind.HYPERTENSION,
        severity="severe",
        occurred_at=T0,
        now=T0 + timedelta(hours=5),
        clock_skew=GRACE,
    )
    assert (reported.session_id, reported.severity, reported.occurred_at) == ("ses-1", "severe", T0)
    for occurred_at, code in (
        (T0 - timedelta(seconds=1), "occurred_before_session"),
        (T0 + timedelta(minutes=6), "occurred_in_future"),
    ):
        with pytest.raises(SessionRefused) as refused:
            adverse_event(
                s,
                adverse_event_id="ae-2",
                kind=AdverseEventKind.OTHER,
                severity="mild",
                occurred_at=occurred_at,
                now=T0,
                clock_skew=GRACE,
            )
        assert refused.value.code == code
