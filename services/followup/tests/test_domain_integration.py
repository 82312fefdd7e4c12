"""The integration window: opened once per session, reminders only when nothing is booked or done."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hearth.contracts import SessionStarted
from hearth.followup.domain import Refused, integration
from hearth.followup.domain.integration import DosingSession, IntegrationCommand, WindowPolicy

END = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
POLICY = WindowPolicy(opens_after=timedelta(hours=24), closes_after=timedelta(hours=72))
OPENS, CLOSES = END + timedelta(hours=24), END + timedelta(hours=72)


def fresh() -> DosingSession:
    return DosingSession(session_id="ses-1", patient_id="pt-001")


def ended() -> DosingSession:
    session, _ = integration.completed(fresh(), 1, END, POLICY)
    return session


def cmd(status: str, integration_id: str | None = None) -> IntegrationCommand:
    return IntegrationCommand(status=status, integration_id=integration_id, actor="th-1")  # type: ignore[arg-type]


def test_completion_opens_the_window_with_both_timers() -> None:
    session, timers = integration.completed(fresh(), 3, END, POLICY)
    assert (session.window_opens_at, session.window_closes_at) == (OPENS, CLOSES)
    assert session.session_number == 3
    assert timers is not None and (timers.opens_at, timers.closes_at) == (OPENS, CLOSES)


def test_a_second_completion_opens_no_second_window() -> None:
    session = ended()
    again, timers = integration.completed(session, 1, END + timedelta(hours=1), POLICY)
    assert timers is None
    assert again == session


def test_completion_after_a_booking_sets_only_the_overdue_check() -> None:
    booked, _ = integration.record(fresh(), cmd("booked"), END - timedelta(minutes=5), new_id="int-1")
    _, timers = integration.completed(booked, 1, END, POLICY)
    assert timers is not None and (timers.opens_at, timers.closes_at) == (None, CLOSES)


def test_completion_after_a_done_integration_sets_no_timer() -> None:
    done, _ = integration.record(fresh(), cmd("done"), END - timedelta(minutes=5), new_id="int-1")
    _, timers = integration.completed(done, 1, END, POLICY)
    assert timers is not None and (timers.opens_at, timers.closes_at) == (None, None)


def test_window_opening_with_nothing_booked_is_due_once() -> None:
    session, due = integration.window_opened(ended(), OPENS)
    assert due is not None
    assert (due.session_id, due.window_opens_at, due.window_closes_at) == ("ses-1", OPENS, CLOSES)
    _, again = integration.window_opened(session, OPENS + timedelta(seconds=1))
    assert again is None


@pytest.mark.parametrize("status", ["booked", "done"])
def test_window_opening_after_a_booking_or_completion_is_not_due(status: str) -> None:
    session, _ = integration.record(ended(), cmd(status), END + timedelta(hours=2), new_id="int-1")
    assert integration.window_opened(session, OPENS)[1] is None


def test_window_opening_seen_after_the_close_leaves_it_to_the_overdue_check() -> None:
    assert integration.window_opened(ended(), CLOSES)[1] is None


def test_window_closing_without_done_is_overdue_once_even_when_booked() -> None:
    booked, _ = integration.record(ended(), cmd("booked"), END + timedelta(hours=30), new_id="int-1")
    session, overdue = integration.window_closed(booked, CLOSES)
    assert overdue is not None and overdue.window_closes_at == CLOSES
    assert integration.window_closed(session, CLOSES)[1] is None


def test_window_closing_after_done_is_not_overdue() -> None:
    done, _ = integration.record(ended(), cmd("done"), END + timedelta(hours=30), new_id="int-1")
    assert integration.window_closed(done, CLOSES)[1] is None


def test_timers_of_an_unended_session_do_nothing() -> None:
    assert integration.window_opened(fresh(), OPENS)[1] is None
    assert integration.window_closed(fresh(), CLOSES)[1] is None


def test_booked_then_done_keeps_the_booked_id() -> None:
    at = END + timedelta(hours=25)
    booked, first = integration.record(ended(), cmd("booked", "int-7"), at, new_id="unused")
    assert (first.booked_or_done, first.integration_id, first.completed_at) == ("booked", "int-7", at)
    done, second = integration.record(booked, cmd("done"), at + timedelta(hours=20), new_id="unused-2")
    assert (second.booked_or_done, second.integration_id) == ("done", "int-7")
    assert done.integration.status == "done" and done.integration.booked_at == at


def test_without_any_id_a_new_one_is_used() -> None:
    _, event = integration.record(ended(), cmd("done"), END, new_id="int-new")
    assert event.integration_id == "int-new"


def test_booking_twice_is_refused() -> None:
    booked, _ = integration.record(ended(), cmd("booked"), END, new_id="int-1")
    with pytest.raises(Refused) as refused:
        integration.record(booked, cmd("booked"), END, new_id="int-2")
    assert refused.value.code == "integration_already_booked"


@pytest.mark.parametrize("status", ["booked", "done"])
def test_anything_after_done_is_refused(status: str) -> None:
    done, _ = integration.record(ended(), cmd("done"), END, new_id="int-1")
    with pytest.raises(Refused) as refused:
        integration.record(done, cmd(status), END, new_id="int-2")
    assert refused.value.code == "integration_already_done"
    assert refused.value.details["current_status"] == "done"


def test_a_start_after_the_completion_keeps_the_window() -> None:
    data = SessionStarted.example().model_copy(update={"session_id": "ses-1", "session_number": 4})
    session = integration.started(ended(), data)
    assert session.window_opens_at == OPENS and session.started_at == data.started_at
    assert session.session_number == 1  # the completion already told
