"""The inbox's Postgres side alone: Inbox.handle_batch on records in memory, without Kafka."""

from __future__ import annotations

import time

from hearth.contracts import Event
from hearth.contracts.events.screening import Screened
from hearth.kit.db import create_pool
from hearth.kit.dead_letters import StoredRecord
from hearth.kit.event_handlers import EventHandler
from hearth.kit.inbox import Inbox, Outcome
from hearth.kit.testing.workers import EFFECTS_SQL, HANDLERS
from hearth.kit.tx import Tx
from hearth.kit.uow import UnitOfWork

from .events import CONSUMER_SERVICE, SCREENED_TOPIC, SCREENED_TYPE, Events
from .harness import Bench
from .measure import CpuMeter


async def _writes_nothing(event: Event[Screened], tx: Tx) -> None:
    """A handler without a statement of its own: what is left is the kit's cost of settling an event (read and
    validate it, record its id, the position, the commit)."""


_HANDLERS: dict[str, EventHandler] = {**HANDLERS, "none": _writes_nothing}
_RUN_NAMES = {"each": "", "batched": "-run", "none": "-bare"}


async def inbox_db_rate(b: Bench, events: Events, batch: int, handler: str) -> None:
    """Inbox.handle_batch on records already in memory: the kit's Postgres side without Kafka."""
    run = _RUN_NAMES[handler]
    dsn = await b.database(f"inboxdb{batch}{run.strip('-')}", extra_sql=EFFECTS_SQL)
    pool = await create_pool(dsn, max_size=2)
    inbox = Inbox(UnitOfWork(pool, CONSUMER_SERVICE), {SCREENED_TYPE: _HANDLERS[handler]})
    n = b.sizes.inbox_events
    records = [
        StoredRecord(SCREENED_TOPIC, i % b.args.partitions, i, e.partitionkey.encode(), e.to_json())
        for i, e in enumerate(events.batch(0, n))
    ]
    settled = 0
    try:
        end = time.perf_counter() + b.sizes.inbox_seconds
        meter = CpuMeter()
        with b.profiled(f"inbox-db-{batch}{run}"):
            for lo in range(0, n, batch):
                if time.perf_counter() > end:
                    break
                if await inbox.handle_batch(records[lo : lo + batch]) is not Outcome.APPLIED:
                    raise RuntimeError("a batch was not applied (see the log)")
                settled += len(records[lo : lo + batch])
        wall, cpu = meter.stop()
        # An APPLIED batch may still have dead-lettered records: count what was really applied.
        applied = await pool.fetchval("SELECT count(*) FROM hearth_inbox")
        letters = await pool.fetchval("SELECT count(*) FROM hearth_dead_letters")
    finally:
        await pool.close()
    if applied != settled or letters:
        raise RuntimeError(f"{settled:,} events offered, {applied:,} applied, {letters:,} dead-lettered")
    key = f"inbox.{batch}{run.replace('-', '.')}.db"
    b.put(key, settled / wall, f"{settled:,} events; {meter.note(wall, cpu, settled)}")
