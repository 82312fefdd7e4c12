"""A command that locks a group of timers (`Tx.lock_timers`) while the poller fires one of them and its handler
cancels the whole group — a session closed by its clinician while its close timer fires — must not deadlock.

The poller holds the timer it claimed and then wants the group; a command that locked part of the group in key
order and then waited for the claimed timer closed a cycle, which Postgres broke after a second by aborting one of
them (a whole batch of timers, or the command). The command now takes the group only whole: what it cannot lock
at once it lets go of and tries again."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import asyncpg

from hearth.kit.clock import ManualClock
from hearth.kit.context import EventContext
from hearth.kit.db import TRANSIENT_DB_ERRORS
from hearth.kit.testing.workers import ProbeTimer
from hearth.kit.timer_poller import TimerPoller, timer_routes
from hearth.kit.tx import Tx
from hearth.kit.uow import UnitOfWork

SESSIONS = 60


def _group(key: str) -> str:
    return key.rsplit(":", 1)[0] + ":"


async def test_a_command_and_the_poller_on_one_group_of_timers_never_deadlock(pool: asyncpg.Pool) -> None:
    clock = ManualClock()
    uow = UnitOfWork(pool, "session", clock)

    async def schedule(tx: Tx) -> None:  # the close timer is due; the check-ins, which sort before it, are not
        for s in range(SESSIONS):
            for part, due in (("check-in:0", 3600), ("check-in:1", 7200), ("close", 0)):
                key = f"session:{s:03d}:{part}"
                tx.schedule(ProbeTimer(key=key), at=clock.now() + timedelta(seconds=due), key=key)

    await uow.run(schedule, EventContext(correlation_id="setup"))
    clock.advance(timedelta(seconds=1))

    async def fired(timer: ProbeTimer, tx: Tx) -> None:  # the close timer's handler: the session ends, all of it
        await tx.conn.execute("INSERT INTO test_timer_effects (key, fired_by) VALUES ($1, 1)", timer.key)
        await asyncio.sleep(random.random() / 200)
        tx.cancel_prefix(_group(timer.key))

    poller = TimerPoller(uow, timer_routes((ProbeTimer, fired)), batch_size=10)
    deadlocks = {"poller": 0, "command": 0}

    async def close(s: int) -> None:  # the clinician closes the session: its timers first, as the session does
        async def handle(tx: Tx) -> None:
            await tx.lock_timers(f"session:{s:03d}:")
            await tx.conn.execute("INSERT INTO test_timer_effects (key, fired_by) VALUES ($1, 2)", f"closed:{s}")
            await asyncio.sleep(random.random() / 200)
            tx.cancel_prefix(f"session:{s:03d}:")

        await asyncio.sleep(random.random() / 20)
        while True:
            try:
                await uow.once(handle, EventContext(correlation_id=f"close-{s}"))
                return
            except asyncpg.DeadlockDetectedError:
                deadlocks["command"] += 1
            except TRANSIENT_DB_ERRORS:
                await asyncio.sleep(0.01)

    async def poll() -> None:
        while True:
            try:
                if not await poller.fire_due():
                    return
            except asyncpg.DeadlockDetectedError:
                deadlocks["poller"] += 1

    await asyncio.gather(poll(), *(close(s) for s in range(SESSIONS)))
    await poll()
    assert deadlocks == {"poller": 0, "command": 0}
    assert await pool.fetchval("SELECT count(*) FROM hearth_timers") == 0
    closed = await pool.fetchval("SELECT count(*) FROM test_timer_effects WHERE key LIKE 'closed:%'")
    assert closed == SESSIONS  # every command went through once
