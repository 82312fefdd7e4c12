"""`screened` is a batch handler: a run of screenings (a backlog read at once) leaves every patient's baseline
exactly as the same records settled one at a time do — several screenings of one patient in a run, out of
order, and patients already known included."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from hearth.contracts import Event, Screened, build_event, spec_for
from hearth.followup import handlers, subscriptions
from hearth.followup.main import define
from hearth.followup.settings import FollowupSettings
from hearth.kit.db import create_pool
from hearth.kit.dead_letters import StoredRecord as Record
from hearth.kit.event_handlers import BatchHandler
from hearth.kit.inbox import Inbox, Outcome
from hearth.kit.testing import postgres
from hearth.kit.testing.service_harness import prepare
from hearth.kit.uow import UnitOfWork


def screening(patient: str, n: int, at: datetime) -> Event[Screened]:
    data = Screened.example().model_copy(update={"assessment_id": f"asm-{patient}-{n}"})
    return build_event(data, subject=patient, time=at)


async def _baselines(inbox_batch: int, events: list[Event[Screened]], infra: Any) -> list[tuple[Any, ...]]:
    prefix = f"followup-{secrets.token_hex(4)}."
    settings, _, dsn = await prepare(define, FollowupSettings, infra, prefix)
    pool = await create_pool(dsn, max_size=2)
    try:
        routes = subscriptions.events(settings)
        inbox = Inbox(UnitOfWork(pool, "followup", topic_prefix=prefix), routes)
        topic = prefix + spec_for(Screened).topic
        records = [Record(topic, 0, i, e.partitionkey.encode(), e.to_json()) for i, e in enumerate(events)]
        for lo in range(0, len(records), inbox_batch):
            assert await inbox.handle_batch(records[lo : lo + inbox_batch]) is Outcome.APPLIED
        rows = await pool.fetch(
            "SELECT patient_id, baseline_assessment_id, baseline_phq9, baseline_gad7, baseline_at"
            " FROM followup_patients ORDER BY patient_id"
        )
        return [tuple(r) for r in rows]
    finally:
        await pool.close()
        await postgres.drop_database(infra.pg_admin_dsn, dsn)


async def test_a_run_of_screenings_leaves_what_one_at_a_time_leaves(infra: Any) -> None:
    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    events = [
        screening("pt-a", 2, t0 + timedelta(days=2)),
        screening("pt-b", 1, t0 + timedelta(days=1)),
        screening("pt-a", 1, t0 + timedelta(days=1)),  # older than the one before it: not the baseline
        screening("pt-a", 3, t0 + timedelta(days=3)),
        screening("pt-c", 1, t0),
        screening("pt-b", 0, t0),
    ]
    one_at_a_time = await _baselines(1, events, infra)
    in_runs = await _baselines(4, events, infra)  # a run of 4 (pt-a three times), then pt-b already known
    assert in_runs == one_at_a_time
    assert [(r[0], r[1]) for r in in_runs] == [("pt-a", "asm-pt-a-3"), ("pt-b", "asm-pt-b-1"), ("pt-c", "asm-pt-c-1")]


async def test_screenings_for_many_patients_in_one_batch(infra: Any) -> None:
    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    events = [screening(f"pt-{i:03d}", i % 3, t0 + timedelta(minutes=i)) for i in range(200)]
    rows = await _baselines(200, events, infra)
    assert len(rows) == 200
    assert all(r[1] == f"asm-{r[0]}-{int(r[0][3:]) % 3}" for r in rows)


def test_the_handler_is_a_batch_handler() -> None:
    """What the tests above are about: a regression to a handler per event would pass them unnoticed."""
    assert isinstance(handlers.on_screened, BatchHandler)
