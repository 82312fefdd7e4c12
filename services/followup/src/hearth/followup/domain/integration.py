"""The integration window after a dosing session.

The window opens `opens_after` (default 24 h) and closes `closes_after` (default 72 h) after the session ends.
When it opens with nothing booked or done, integration-due is emitted; when it closes with nothing done,
integration-overdue. Booking cancels the reminder at the opening; only a done integration cancels the overdue
check at the close (the brief: "if none is done by 72 h, it is overdue").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from hearth.contracts import IntegrationCompleted, IntegrationDue, IntegrationOverdue, SessionStarted

from .errors import Refused

IntegrationStatus = Literal["none", "booked", "done"]


@dataclass(frozen=True)
class WindowPolicy:
    opens_after: timedelta
    closes_after: timedelta


@dataclass(frozen=True)
class Integration:
    """What a therapist or clinician recorded for the session; notes stay in this service's database."""

    status: IntegrationStatus = "none"
    integration_id: str | None = None
    booked_at: datetime | None = None
    done_at: datetime | None = None
    scheduled_for: datetime | None = None
    recorded_by: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class DosingSession:
    session_id: str
    patient_id: str
    session_number: int | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    window_opens_at: datetime | None = None
    window_closes_at: datetime | None = None
    integration: Integration = Integration()
    due_emitted_at: datetime | None = None
    overdue_emitted_at: datetime | None = None


@dataclass(frozen=True)
class WindowTimers:
    """The timers a newly opened window needs: the reminder at its opening and the check at its close."""

    opens_at: datetime | None
    closes_at: datetime | None


@dataclass(frozen=True)
class IntegrationCommand:
    status: Literal["booked", "done"]
    integration_id: str | None
    actor: str
    scheduled_for: datetime | None = None
    notes: str | None = None


def started(session: DosingSession, data: SessionStarted) -> DosingSession:
    """Record the start; a repeat (or a start arriving after the completion) keeps what is known."""
    return replace(
        session,
        session_number=session.session_number or data.session_number,
        started_at=session.started_at or data.started_at,
    )


def completed(
    session: DosingSession, session_number: int, ended_at: datetime, policy: WindowPolicy
) -> tuple[DosingSession, WindowTimers | None]:
    """Open the window once per session: a second completion of the same session changes nothing."""
    if session.ended_at is not None:
        return session, None
    opens_at, closes_at = ended_at + policy.opens_after, ended_at + policy.closes_after
    session = replace(
        session,
        session_number=session.session_number or session_number,
        ended_at=ended_at,
        window_opens_at=opens_at,
        window_closes_at=closes_at,
    )
    status = session.integration.status
    return session, WindowTimers(
        opens_at=opens_at if status == "none" else None,
        closes_at=closes_at if status != "done" else None,
    )


def window_opened(session: DosingSession, now: datetime) -> tuple[DosingSession, IntegrationDue | None]:
    """integration-due, unless something was booked or done, it was already sent, or the window has already
    closed (then integration-overdue follows instead)."""
    opens, closes = session.window_opens_at, session.window_closes_at
    if opens is None or closes is None or session.due_emitted_at is not None:
        return session, None
    if session.integration.status != "none" or now >= closes:
        return session, None
    due = IntegrationDue(session_id=session.session_id, window_opens_at=opens, window_closes_at=closes)
    return replace(session, due_emitted_at=now), due


def window_closed(session: DosingSession, now: datetime) -> tuple[DosingSession, IntegrationOverdue | None]:
    closes = session.window_closes_at
    if closes is None or session.overdue_emitted_at is not None or session.integration.status == "done":
        return session, None
    overdue = IntegrationOverdue(session_id=session.session_id, window_closes_at=closes)
    return replace(session, overdue_emitted_at=now), overdue


def record(
    session: DosingSession, command: IntegrationCommand, now: datetime, new_id: str
) -> tuple[DosingSession, IntegrationCompleted]:
    """Booked, then done (or done at once). Booking twice or recording anything after done is refused.
    Without an integration id, a done integration keeps the booked one's id, else takes `new_id`."""
    current = session.integration
    integration_id = command.integration_id or current.integration_id or new_id
    if current.status == "done":
        raise Refused(
            "integration_already_done",
            "an integration was already done for this session",
            {"session_id": session.session_id, "current_status": "done"},
        )
    if current.status == "booked" and command.status == "booked":
        raise Refused(
            "integration_already_booked",
            "an integration is already booked for this session; record it as done when it has taken place",
            {"session_id": session.session_id, "current_status": "booked"},
        )
    if command.status == "booked":
        integration = Integration(
            status="booked",
            integration_id=integration_id,
            booked_at=now,
            scheduled_for=command.scheduled_for,
            recorded_by=command.actor,
            notes=command.notes,
        )
    else:
        integration = replace(
            current,
            status="done",
            integration_id=integration_id,
            done_at=now,
            recorded_by=command.actor,
            notes=command.notes if command.notes is not None else current.notes,
        )
    event = IntegrationCompleted(
        session_id=session.session_id,
        integration_id=integration_id,
        completed_at=now,
        booked_or_done=command.status,
    )
    return replace(session, integration=integration), event
