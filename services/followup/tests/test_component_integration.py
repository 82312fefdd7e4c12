"""The integration window over real Kafka and Postgres, with a window of seconds (opens 3 s, closes 5 s after the
session ends): reminders are emitted once, and not at all once an integration is booked or done."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hearth.contracts import (
    IntegrationCompleted,
    IntegrationDue,
    IntegrationOverdue,
    SessionCompleted,
    SessionStarted,
    build_event,
)
from hearth.followup.main import define
from hearth.followup.settings import FollowupSettings
from hearth.kit.auth import Role
from hearth.kit.testing.service_harness import ServiceUnderTest, running_service

OPENS, CLOSES = 3.0, 5.0
WINDOW = {"integration_opens_after_seconds": OPENS, "integration_closes_after_seconds": CLOSES}

Svc = tuple[ServiceUnderTest, Any]


@pytest.fixture(scope="module")
async def svc(infra: Any, probe_for: Callable[..., Any]) -> AsyncIterator[Svc]:
    prefix = f"followup-{secrets.token_hex(4)}."
    async with running_service(define, FollowupSettings, infra, prefix, overrides=WINDOW) as s:
        yield s, probe_for(s.bootstrap, s.prefix, s.dsn)


def ids() -> tuple[str, str]:
    tag = secrets.token_hex(4)
    return f"pt-{tag}", f"ses-{tag}"


def started(session_id: str, at: datetime) -> SessionStarted:
    return SessionStarted(
        session_id=session_id,
        approval_id="apr-1",
        session_number=1,
        dose_mg=200,
        dose_finding=True,
        started_at=at,
        check_ins_due=(at,),
    )


def completed(session_id: str, ended_at: datetime) -> SessionCompleted:
    return SessionCompleted(
        session_id=session_id, session_number=1, ended_at=ended_at, closed_by="clinician", missed_check_ins=0
    )


async def start_session(s: ServiceUnderTest, probe: Any, patient: str, session: str) -> None:
    """A started session the service has consumed: from here on the consumer is known to be live."""
    now = datetime.now(UTC)
    await s.publish(build_event(started(session, now - timedelta(hours=2)), subject=patient))
    await probe.until("SELECT 1 FROM followup_sessions WHERE session_id = $1", session)


async def complete_session(s: ServiceUnderTest, probe: Any, patient: str, session: str) -> datetime:
    ended = datetime.now(UTC)
    await s.publish(build_event(completed(session, ended), subject=patient))
    await probe.until("SELECT 1 FROM followup_sessions WHERE session_id = $1 AND ended_at IS NOT NULL", session)
    return ended


async def sleep_until(at: datetime) -> None:
    await asyncio.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()))


async def timers_of(probe: Any, session: str) -> list[str]:
    rows = await probe.fetch("SELECT key FROM hearth_timers WHERE key LIKE '%:' || $1", session)
    return sorted(r["key"] for r in rows)


async def test_session_completed_emits_integration_due_once_then_overdue_once(svc: Svc) -> None:
    s, probe = svc
    patient, session = ids()
    await start_session(s, probe, patient, session)
    ended = await complete_session(s, probe, patient, session)
    of_session = lambda e: e.data.session_id == session  # noqa: E731

    due = await probe.events(IntegrationDue, of_session, expect=1)
    assert len(due) == 1
    assert due[0].subject == patient
    assert due[0].data.window_opens_at == ended + timedelta(seconds=OPENS)
    assert due[0].data.window_closes_at == ended + timedelta(seconds=CLOSES)

    overdue = await probe.events(IntegrationOverdue, of_session, expect=1)
    assert len(overdue) == 1
    assert overdue[0].data.window_closes_at == ended + timedelta(seconds=CLOSES)
    assert await probe.outbox_count(IntegrationDue, patient) == 1
    assert await probe.outbox_count(IntegrationOverdue, patient) == 1
    assert await timers_of(probe, session) == []


async def test_integration_done_before_the_window_opens_cancels_both_reminders(svc: Svc) -> None:
    s, probe = svc
    patient, session = ids()
    await start_session(s, probe, patient, session)
    ended = await complete_session(s, probe, patient, session)
    assert len(await timers_of(probe, session)) == 2

    r = await s.client.post(
        f"/sessions/{session}/integration",
        json={"status": "done", "integration_id": "int-1", "notes": "Reflected on the session together."},
        headers=s.auth(Role.THERAPIST, "th-1"),
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["status"] == "done"
    assert datetime.fromisoformat(view["done_at"]) < datetime.fromisoformat(view["window_opens_at"])
    assert await timers_of(probe, session) == []

    of_session = lambda e: e.data.session_id == session  # noqa: E731
    done = await probe.events(IntegrationCompleted, of_session, expect=1)
    assert [(e.data.booked_or_done, e.data.integration_id, e.subject) for e in done] == [("done", "int-1", patient)]
    assert b"Reflected" not in done[0].to_json()

    await sleep_until(ended + timedelta(seconds=CLOSES + 1.5))
    assert await probe.events(IntegrationDue, of_session, expect=1, timeout=1, settle=0) == []
    assert await probe.events(IntegrationOverdue, of_session, expect=1, timeout=1, settle=0) == []
    assert await probe.outbox_count(IntegrationDue, patient) == 0
    assert await probe.outbox_count(IntegrationOverdue, patient) == 0


async def test_a_booking_cancels_the_reminder_but_not_the_overdue_check(svc: Svc) -> None:
    s, probe = svc
    patient, session = ids()
    await start_session(s, probe, patient, session)
    ended = await complete_session(s, probe, patient, session)
    r = await s.client.post(
        f"/sessions/{session}/integration",
        json={"status": "booked", "scheduled_for": (ended + timedelta(hours=30)).isoformat()},
        headers=s.auth(Role.CLINICIAN, "cl-1"),
    )
    assert r.status_code == 200, r.text
    assert await timers_of(probe, session) == [f"integration-closes:{session}"]

    of_session = lambda e: e.data.session_id == session  # noqa: E731
    overdue = await probe.events(IntegrationOverdue, of_session, expect=1)
    assert len(overdue) == 1
    assert await probe.events(IntegrationDue, of_session, expect=1, timeout=1, settle=0) == []
    booked = await probe.events(IntegrationCompleted, of_session, expect=1, settle=0)
    assert [e.data.booked_or_done for e in booked] == ["booked"]


async def test_duplicate_completions_open_one_window(svc: Svc) -> None:
    s, probe = svc
    patient, session = ids()
    await start_session(s, probe, patient, session)
    ended = datetime.now(UTC)
    first = build_event(completed(session, ended), subject=patient)
    other = build_event(completed(session, ended + timedelta(seconds=1)), subject=patient)  # another event id
    await s.publish(first, first, other)
    await probe.until(
        "SELECT count(*) FROM hearth_inbox WHERE event_id = ANY($1::uuid[]) HAVING count(*) = 2",
        [str(first.id), str(other.id)],
    )
    rows = await probe.fetch("SELECT window_opens_at FROM followup_sessions WHERE session_id = $1", session)
    assert [r["window_opens_at"] for r in rows] == [ended + timedelta(seconds=OPENS)]
    assert len(await timers_of(probe, session)) == 2

    of_session = lambda e: e.data.session_id == session  # noqa: E731
    assert len(await probe.events(IntegrationDue, of_session, expect=1)) == 1
    assert len(await probe.events(IntegrationOverdue, of_session, expect=1)) == 1
    assert await probe.outbox_count(IntegrationDue, patient) == 1


async def test_integration_commands_are_checked(svc: Svc) -> None:
    s, probe = svc
    patient, session = ids()
    therapist = s.auth(Role.THERAPIST, "th-2")
    url = f"/sessions/{session}/integration"
    assert (await s.client.post(url, json={"status": "done"}, headers=therapist)).status_code == 404
    await start_session(s, probe, patient, session)
    assert (await s.client.post(url, json={"status": "done"}, headers=s.auth(Role.PATIENT, patient))).status_code == 403
    assert (await s.client.post(url, json={"status": "done"})).status_code == 401
    bad = await s.client.post(url, json={"status": "maybe"}, headers=therapist)
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "body.status"
    extra = await s.client.post(
        url, json={"status": "done", "scheduled_for": "2026-12-01T10:00:00Z"}, headers=therapist
    )
    assert extra.status_code == 422

    key = {"Idempotency-Key": f"book-{session}"}
    first = await s.client.post(url, json={"status": "booked"}, headers=therapist | key)
    again = await s.client.post(url, json={"status": "booked"}, headers=therapist | key)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    twice = await s.client.post(url, json={"status": "booked"}, headers=therapist)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "integration_already_booked"

    seen = await s.client.get(url, headers=s.auth(Role.OPS))
    assert seen.status_code == 200 and seen.json()["status"] == "booked"
    assert (await s.client.get(f"/sessions/ses-unknown-{session}/integration", headers=therapist)).status_code == 404
