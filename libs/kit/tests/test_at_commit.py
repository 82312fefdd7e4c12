"""Audit and outbox rows held back to the end of the transaction (at_commit.py): the locks they take are not held
while the rest of a handler runs, nothing is lost or reordered, and a rolled-back savepoint drops its rows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from hearth.kit import at_commit, audit, idempotency_rows, outbox
from hearth.kit.context import EventContext
from hearth.kit.idempotency_rows import Remembered
from hearth.kit.testing.helpers import screened_event
from hearth.kit.uow import UnitOfWork

AUDIT_LOCK = 0x61756469


async def _other_can_lock(pool: asyncpg.Pool, lock_sql: str, *args: object) -> bool:
    async with pool.acquire() as other, other.transaction():
        return bool(await other.fetchval(lock_sql, *args))


async def test_a_unit_of_work_takes_the_audit_and_key_locks_only_at_its_end(pool: asyncpg.Pool) -> None:
    uow = UnitOfWork(pool, "screening")
    seen: dict[str, bool] = {}

    async def handler(tx: object) -> None:
        conn = tx.conn  # type: ignore[attr-defined]
        await audit.append(conn, at=datetime.now(UTC), actor="clin-1", action="approved", entity="a:1")
        await outbox.stage(conn, [screened_event("pt-late-lock")])
        # Still inside the handler: another transaction can take both locks, so nobody waits for this one yet.
        seen["audit lock free"] = await _other_can_lock(pool, "SELECT pg_try_advisory_xact_lock($1)", AUDIT_LOCK)
        seen["key lock free"] = await _other_can_lock(
            pool, "SELECT pg_try_advisory_xact_lock(hashtext('hearth_outbox:' || $1))", "pt-late-lock"
        )
        seen["nothing written yet"] = not await conn.fetchval("SELECT count(*) FROM hearth_outbox") and not (
            await conn.fetchval("SELECT count(*) FROM audit.trail")
        )

    await uow.once(handler, EventContext("corr-1"))
    assert seen == {"audit lock free": True, "key lock free": True, "nothing written yet": True}
    async with pool.acquire() as conn:
        assert await audit.verify(conn) == (1, None)
        assert await conn.fetchval("SELECT key FROM hearth_outbox") == "pt-late-lock"


async def test_rows_keep_their_order_and_a_failed_savepoint_drops_only_its_own(pool: asyncpg.Pool) -> None:
    events = [screened_event(f"pt-{i}") for i in range(4)]
    async with pool.acquire() as conn, conn.transaction(), at_commit.deferred(conn):
        await audit.append(conn, at=datetime.now(UTC), actor="a", action="first", entity="e:1")
        await outbox.stage(conn, events[:2])
        with pytest.raises(ZeroDivisionError):
            async with conn.transaction(), at_commit.deferred(conn):
                await audit.append(conn, at=datetime.now(UTC), actor="a", action="rolled back", entity="e:2")
                await outbox.stage(conn, [events[2]])
                raise ZeroDivisionError
        async with conn.transaction(), at_commit.deferred(conn):  # a savepoint that succeeds hands its rows out
            await audit.append(conn, at=datetime.now(UTC), actor="a", action="second", entity="e:3")
            await outbox.stage(conn, [events[3]])
    async with pool.acquire() as conn:
        assert [r["action"] for r in await conn.fetch("SELECT action FROM audit.trail ORDER BY seq")] == [
            "first",
            "second",
        ]
        assert await audit.verify(conn) == (2, None)
        staged = await conn.fetch("SELECT event_id::text FROM hearth_outbox ORDER BY id")
        assert [r[0] for r in staged] == [str(e.id) for e in (events[0], events[1], events[3])]


async def test_a_write_that_fails_at_the_end_is_raised_as_asked(pool: asyncpg.Pool) -> None:
    event = screened_event("pt-twice")

    class Refused(Exception):
        pass

    async with pool.acquire() as conn:
        await outbox.stage(conn, [event])  # outside any scope: written at once
        with pytest.raises(Refused, match="UniqueViolationError"):
            async with conn.transaction(), at_commit.deferred(conn, on_error=Refused):
                await outbox.stage(conn, [event])  # the same event id again
        assert await conn.fetchval("SELECT count(*) FROM hearth_outbox") == 1


async def test_a_write_after_its_scope_ended_is_refused(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        async with conn.transaction(), at_commit.deferred(conn) as pending:
            pass
        assert not pending.open
        token = at_commit._CURRENT.set(pending)  # as a task started inside the scope would still see it
        try:
            with pytest.raises(RuntimeError, match="after that transaction's end"):
                await audit.append(conn, at=datetime.now(UTC), actor="a", action="late", entity="e:1")
        finally:
            at_commit._CURRENT.reset(token)


async def test_the_outbox_idempotency_and_audit_rows_are_written_by_one_statement(pool: asyncpg.Pool) -> None:
    events = [screened_event("pt-one-a"), screened_event("pt-one-b"), screened_event("pt-one-a")]
    seen: list[str] = []

    def log(record: asyncpg.connection.LoggedQuery) -> None:
        seen.append(record.query)

    async with pool.acquire() as conn:
        async with conn.transaction(), at_commit.deferred(conn):
            await outbox.stage(conn, events)
            await audit.append(conn, at=datetime.now(UTC), actor="a", action="one", entity="e:1")
            await audit.append(conn, at=datetime.now(UTC), actor="a", action="two", entity="e:2")
            await idempotency_rows.remember(conn, Remembered("clin-1", "k-1", "hmac-sha256:00", 201, '{"a": 1}'))
            conn.add_query_logger(log)
        await asyncio.sleep(0.05)  # the logger is called soon after each statement, not during it
        conn.remove_query_logger(log)
        assert len([q for q in seen if "hearth_" in q or "audit" in q]) == 1, seen
        remembered = await conn.fetchrow("SELECT principal, key, status_code, response::text FROM hearth_idempotency")
        assert tuple(remembered) == ("clin-1", "k-1", 201, '{"a": 1}')
        assert await audit.verify(conn) == (2, None)
        staged = await conn.fetch("SELECT event_id::text, key, headers FROM hearth_outbox ORDER BY id")
        assert [r["event_id"] for r in staged] == [str(e.id) for e in events]
        assert [r["key"] for r in staged] == ["pt-one-a", "pt-one-b", "pt-one-a"]
        assert all(r["headers"] == '{"content-type": "application/cloudevents+json"}' for r in staged)


async def test_a_key_held_elsewhere_is_waited_for_before_an_id_is_drawn_or_the_audit_lock_taken(
    pool: asyncpg.Pool,
) -> None:
    """The order the relay relies on: a transaction draws its outbox ids only once it holds its keys' locks, so
    for one key id order is commit order; and while it waits for them, it does not hold the service's audit lock."""
    async with pool.acquire() as holder, holder.transaction():
        await holder.execute("SELECT pg_advisory_xact_lock(hashtext('hearth_outbox:' || $1))", "pt-held")
        ids_before = await holder.fetchval("SELECT last_value FROM hearth_outbox_id_seq")

        async def write() -> None:
            async with pool.acquire() as conn, conn.transaction(), at_commit.deferred(conn):
                await outbox.stage(conn, [screened_event("pt-free"), screened_event("pt-held")])
                await audit.append(conn, at=datetime.now(UTC), actor="a", action="waits", entity="e:1")

        writer = asyncio.create_task(write())
        async with pool.acquire() as watcher:
            for _ in range(100):  # until the writer is waiting for the key's lock
                waiting = await watcher.fetchval(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event = 'advisory' AND query LIKE '%hearth_outbox%'"
                )
                if waiting:
                    break
                await asyncio.sleep(0.02)
            assert waiting == 1
            assert await watcher.fetchval("SELECT last_value FROM hearth_outbox_id_seq") == ids_before
            assert await _other_can_lock(pool, "SELECT pg_try_advisory_xact_lock($1)", AUDIT_LOCK)
        assert not writer.done()
    await asyncio.wait_for(writer, 10)
    async with pool.acquire() as conn:
        assert [r[0] for r in await conn.fetch("SELECT key FROM hearth_outbox ORDER BY id")] == ["pt-free", "pt-held"]
        assert await audit.verify(conn) == (1, None)
