"""Durable timers: fire exactly once across two poller processes, never when cancelled, and right after a
restart when they fell due while no poller ran."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from hearth.kit import timers
from hearth.kit.clock import ManualClock
from hearth.kit.context import EventContext
from hearth.kit.testing.helpers import Worker, wait_for
from hearth.kit.testing.workers import ProbeTimer, on_test_timer
from hearth.kit.timer_poller import TimerPoller, timer_routes
from hearth.kit.tx import Tx
from hearth.kit.uow import UnitOfWork


async def _schedule(pool: asyncpg.Pool, keys: list[str], at) -> None:
    uow = UnitOfWork(pool, "followup")

    async def schedule_all(tx: Tx) -> None:
        for key in keys:
            tx.schedule(ProbeTimer(key=key), at=at, key=key)

    await uow.run(schedule_all, EventContext.new())


async def _fired(pool: asyncpg.Pool) -> tuple[int, int]:
    row = await pool.fetchrow("SELECT count(*) AS n, count(DISTINCT key) AS d FROM test_timer_effects")
    return int(row["n"]), int(row["d"])


async def test_two_pollers_fire_each_of_10000_timers_once(kit_dsn, pool):
    uow = UnitOfWork(pool, "followup")
    keys = [f"t-{i}" for i in range(10_000)]
    await _schedule(pool, keys, uow.clock.now() - timedelta(seconds=1))
    workers = [Worker("poller", "--dsn", kit_dsn, "--worker-id", str(i), "--batch", "100").start() for i in (1, 2)]
    try:
        await wait_for(lambda: _all_fired(pool, 10_000), timeout=120, what="10,000 timers to fire")
    finally:
        for w in workers:
            w.stop()
    assert await _fired(pool) == (10_000, 10_000)
    assert await pool.fetchval("SELECT count(*) FROM hearth_timers") == 0
    by_worker = dict(await pool.fetch("SELECT fired_by, count(*) FROM test_timer_effects GROUP BY fired_by"))
    assert set(by_worker) <= {1, 2}


async def test_a_cancelled_timer_never_fires_and_a_due_one_fires_once(pool):
    clock = ManualClock()
    uow = UnitOfWork(pool, "followup", clock)
    await _schedule(pool, ["keep", "drop"], clock.now() + timedelta(minutes=5))

    async def cancel(tx: Tx) -> None:
        tx.cancel("drop")

    await uow.run(cancel, EventContext.new())
    poller = TimerPoller(uow, timer_routes((ProbeTimer, on_test_timer(1))))
    assert await poller.fire_due() == 0, "fired before its due time"
    clock.advance(timedelta(minutes=5))
    assert await poller.fire_due() == 1
    clock.advance(timedelta(hours=1))
    assert await poller.fire_due() == 0
    assert [r["key"] for r in await pool.fetch("SELECT key FROM test_timer_effects")] == ["keep"]


async def test_a_timer_due_while_no_poller_ran_fires_right_after_start(kit_dsn, pool):
    uow = UnitOfWork(pool, "followup")
    await _schedule(pool, ["overdue"], uow.clock.now() - timedelta(minutes=10))
    worker = Worker("poller", "--dsn", kit_dsn, "--worker-id", "7").start()
    try:
        await wait_for(lambda: _all_fired(pool, 1), timeout=30, what="the overdue timer to fire")
    finally:
        worker.stop()
    assert await _fired(pool) == (1, 1)


async def test_a_failing_handler_postpones_only_its_own_timer(pool):
    clock = ManualClock()
    uow = UnitOfWork(pool, "followup", clock)
    await _schedule(pool, ["bad", "good"], clock.now())

    async def sometimes_fails(timer: ProbeTimer, tx: Tx) -> None:
        if timer.key == "bad":
            raise ValueError("handler bug")
        await on_test_timer(1)(timer, tx)

    poller = TimerPoller(uow, timer_routes((ProbeTimer, sometimes_fails)), retry_after=timedelta(seconds=30))
    assert await poller.fire_due() == 2
    assert [r["key"] for r in await pool.fetch("SELECT key FROM test_timer_effects")] == ["good"]
    row = await pool.fetchrow("SELECT attempts, last_error, due_at FROM hearth_timers WHERE key = 'bad'")
    assert row["attempts"] == 1 and "handler bug" in row["last_error"]
    assert row["due_at"] == clock.now() + timedelta(seconds=30)


@pytest.mark.parametrize("reschedule", [True, False])
async def test_rescheduling_moves_the_timer(pool, reschedule):
    clock = ManualClock()
    await _schedule(pool, ["k"], clock.now() + timedelta(seconds=10))
    if reschedule:
        await _schedule(pool, ["k"], clock.now() + timedelta(seconds=60))
    async with pool.acquire() as conn:
        due = await timers.claim_due(conn, clock.now() + timedelta(seconds=11), 10)
    assert [t.key for t in due] == ([] if reschedule else ["k"])


async def _all_fired(pool: asyncpg.Pool, n: int) -> bool:
    return (await _fired(pool))[1] >= n
