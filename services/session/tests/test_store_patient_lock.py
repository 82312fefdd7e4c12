"""The patient's row is the lock every start and event of one patient takes (`store.load_patient`): a second
transaction waits until the first ends, whether the row is new (created by the first) or was there; and the
session store's writes are one statement each (the lock, the view's save, a session with its check-ins)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from hearth.kit import migrations
from hearth.session import store
from hearth.session.domain import Approval, Box, Patient, StartRequest
from hearth.session.schedule import CheckIn, Session

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
async def pool(pg_database: str) -> AsyncIterator[asyncpg.Pool]:
    conn = await asyncpg.connect(pg_database)
    try:
        await migrations.migrate(
            conn, migrations.kit_migrations() + migrations.package_migrations("session", "hearth.session")
        )
    finally:
        await conn.close()
    async with asyncpg.create_pool(pg_database, min_size=2, max_size=3) as pool:
        yield pool


async def _second_waits_for_first(pool: asyncpg.Pool, patient_id: str) -> None:
    order: list[str] = []
    first_holds = asyncio.Event()

    async def first() -> None:
        async with pool.acquire() as conn, conn.transaction():
            await store.load_patient(conn, patient_id)
            first_holds.set()
            await asyncio.sleep(0.3)
            await store.save_patient(conn, Patient(patient_id, approvals=(Approval("apr-1", "foundation", 8),)))
            order.append("first committed")

    async def second() -> None:
        await first_holds.wait()
        async with pool.acquire() as conn, conn.transaction():
            patient = await store.load_patient(conn, patient_id)
            order.append(f"second read {len(patient.approvals)} approval(s)")

    await asyncio.wait_for(asyncio.gather(first(), second()), 10)
    assert order == ["first committed", "second read 1 approval(s)"]


async def test_a_new_patients_row_is_locked_by_the_transaction_that_creates_it(pool: asyncpg.Pool) -> None:
    await _second_waits_for_first(pool, "pt-new")


async def test_an_existing_patients_row_is_locked_without_a_new_row_version(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await store.load_patient(conn, "pt-there")  # outside a transaction: creates the row, lock released
        before = await conn.fetchval("SELECT xmin::text FROM session_patients WHERE patient_id = 'pt-there'")
    await _second_waits_for_first(pool, "pt-there")
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT xmin::text FROM session_patients WHERE patient_id = 'pt-there'") == before


async def test_each_write_is_one_statement(pool: asyncpg.Pool) -> None:
    seen: list[str] = []

    def log(record: asyncpg.connection.LoggedQuery) -> None:
        seen.append(record.query)

    patient = Patient(
        "pt-one",
        approvals=(Approval("apr-1", "foundation", 8, 200, T0), Approval("apr-2")),
        boxes=(Box("apr-1", "ord-1", 1, 8, True, T0), Box("apr-1", "ord-1", 2, 8)),
    )
    check_ins = (CheckIn(0, T0 + timedelta(days=1, minutes=30)), CheckIn(1, T0 + timedelta(days=1, hours=1)))
    session = Session("ses-1", "pt-one", "apr-1", 1, 200, True, T0 + timedelta(days=1), check_ins)
    request = StartRequest(124, 80, T0 + timedelta(days=1), True)
    async with pool.acquire() as conn, conn.transaction():
        for which in ("warm", "one"):  # the first use of a type on a connection reads its description first
            if which == "one":
                conn.add_query_logger(log)
            await store.load_patient(conn, f"pt-{which}")
            await store.save_patient(conn, replace(patient, patient_id=f"pt-{which}"))
            await store.insert_session(
                conn, replace(session, session_id=f"ses-{which}", patient_id=f"pt-{which}"), request, "patient:pt"
            )
        await asyncio.sleep(0.05)  # the logger is called soon after each statement, not during it
        conn.remove_query_logger(log)
        assert len(seen) == 4, seen  # the lock, the view, the save, the session
        assert (await store.load_patient(conn, "pt-one")).boxes == patient.boxes
        loaded = await store.load_session(conn, "ses-one")
        assert loaded is not None and loaded.check_ins == session.check_ins
