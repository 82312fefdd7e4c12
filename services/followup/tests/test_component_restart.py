"""A restart between the window's opening and its close changes nothing: integration-due is not sent again,
integration-overdue is sent once, and a redelivered completion opens no second window."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from hearth.contracts import (
    Event,
    IntegrationDue,
    IntegrationOverdue,
    SessionCompleted,
    SessionStarted,
    build_event,
    spec_for,
)
from hearth.followup.main import define
from hearth.followup.settings import FollowupSettings
from hearth.kit.app import create_app
from hearth.kit.service import ServiceDefinition
from hearth.kit.testing.helpers import produce
from hearth.kit.testing.service_harness import prepare

WINDOW = {"integration_opens_after_seconds": 2.0, "integration_closes_after_seconds": 6.0}


@asynccontextmanager
async def serving(definition: ServiceDefinition, settings: FollowupSettings) -> AsyncIterator[None]:
    """The service in this process (consumer, relay, timer poller) until the block ends: a clean stop."""
    app = create_app(definition, settings)
    async with app.router.lifespan_context(app):
        yield


async def publish(settings: FollowupSettings, *events: Event[Any]) -> None:
    records = [(settings.topic_prefix + spec_for(e.type).topic, e.partitionkey.encode(), e.to_json()) for e in events]
    await produce(settings.kafka_bootstrap, records)


async def test_a_restart_between_opening_and_close_changes_nothing(infra: Any, probe_for: Callable[..., Any]) -> None:
    prefix = f"followup-{secrets.token_hex(4)}."
    settings, definition, dsn = await prepare(define, FollowupSettings, infra, prefix, overrides=WINDOW)
    probe = probe_for(settings.kafka_bootstrap, prefix, dsn)
    patient, session = f"pt-{secrets.token_hex(4)}", f"ses-{secrets.token_hex(4)}"
    of_session = lambda e: e.data.session_id == session  # noqa: E731
    now = datetime.now(UTC)
    start = SessionStarted(
        session_id=session,
        approval_id="apr-1",
        session_number=1,
        dose_mg=200,
        dose_finding=True,
        started_at=now - timedelta(hours=2),
        check_ins_due=(now - timedelta(hours=2),),
    )

    def completion(ended: datetime) -> Event[SessionCompleted]:
        data = SessionCompleted(
            session_id=session, session_number=1, ended_at=ended, closed_by="auto", missed_check_ins=1
        )
        return build_event(data, subject=patient)

    async with serving(definition, settings):
        await publish(settings, build_event(start, subject=patient))
        await probe.until("SELECT 1 FROM followup_sessions WHERE session_id = $1", session)
        completed = completion(datetime.now(UTC))
        await publish(settings, completed)
        assert len(await probe.events(IntegrationDue, of_session, expect=1)) == 1

    timers = "SELECT key FROM hearth_timers WHERE key LIKE 'integration-%'"
    assert [r["key"] for r in await probe.fetch(timers)] == [f"integration-closes:{session}"]

    async with serving(definition, settings):
        another = completion(datetime.now(UTC))
        await publish(settings, completed, another)  # a redelivery and a second completion of the same session
        await probe.until("SELECT 1 FROM hearth_inbox WHERE event_id = $1", another.id)
        overdue = await probe.events(IntegrationOverdue, of_session, expect=1)
        assert len(overdue) == 1
        assert overdue[0].data.window_closes_at == completed.data.ended_at + timedelta(seconds=6)

    assert await probe.outbox_count(IntegrationDue, patient) == 1
    assert await probe.outbox_count(IntegrationOverdue, patient) == 1
    assert len(await probe.events(IntegrationDue, of_session, expect=2, timeout=1)) == 1
    assert await probe.fetch(timers) == []
    rows = await probe.fetch("SELECT ended_at FROM followup_sessions WHERE session_id = $1", session)
    assert [r["ended_at"] for r in rows] == [completed.data.ended_at]
