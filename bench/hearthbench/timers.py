"""Durable timers: bulk load, scheduling through a unit of work, firing rates, and lateness."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

import asyncpg

from hearth.kit.context import EventContext
from hearth.kit.db import create_pool
from hearth.kit.timer_poller import TimerPoller, timer_routes
from hearth.kit.tx import Tx
from hearth.kit.uow import UnitOfWork

from .harness import Bench
from .measure import CpuMeter
from .timer_lateness import timer_lateness
from .timer_load import TIMER_FIRED_SQL, BenchTimer, copy_timers, on_bench_timer


async def timers_section(b: Bench) -> None:
    dsn = await b.database("timers", extra_sql=TIMER_FIRED_SQL)
    pool = await create_pool(dsn, max_size=3)
    try:
        await b.attempt(["timers.copy", "timers.pending"], "timer bulk load", lambda: bulk_timers(b, pool))
        keys = ["timers.schedule.1", "timers.schedule.100"]
        await b.attempt(keys, "timer scheduling", lambda: schedule_timers(b, pool))
        for batch in b.args.fire_batches:
            fire = functools.partial(fire_timers, b, pool, batch)
            await b.attempt([f"timers.fire.{batch}"], f"timer firing {batch}", fire)
        keys = ["timers.late.p50", "timers.late.p99", "timers.interval"]
        await b.attempt(keys, "timer lateness", lambda: timer_lateness(b, pool))
    finally:
        await pool.close()


async def bulk_timers(b: Bench, pool: asyncpg.Pool) -> None:
    n = b.sizes.timers
    async with pool.acquire() as conn:
        spent = await copy_timers(conn, "pending", n, datetime.now(UTC) + timedelta(days=1), 0.001)
        await conn.execute("ANALYZE hearth_timers")
    b.put("timers.copy", n / spent, "hearth_timers with its primary key and due_at index; ANALYZE after")
    b.put("timers.pending", float(n), "due from tomorrow on: never fired by the runs below")


async def schedule_timers(b: Bench, pool: asyncpg.Pool) -> None:
    uow = UnitOfWork(pool, "bench")
    at = datetime.now(UTC) + timedelta(days=2)

    def schedule(keys: Sequence[str]) -> Callable[[Tx], Awaitable[None]]:
        async def fn(tx: Tx) -> None:
            for key in keys:
                tx.schedule(BenchTimer(key=key, due=at.timestamp()), at=at, key=key)

        return fn

    count, end = 0, time.perf_counter() + b.sizes.pg_seconds
    meter = CpuMeter()
    while time.perf_counter() < end:
        await uow.run(schedule([f"s1-{count}"]), EventContext.new())
        count += 1
    wall, cpu = meter.stop()
    b.put("timers.schedule.1", count / wall, f"{count:,} units of work; {meter.note(wall, cpu, count)}")
    n = b.sizes.timers_schedule
    meter = CpuMeter()
    with b.profiled("timers-schedule"):
        for lo in range(0, n, 100):
            await uow.run(schedule([f"s100-{i}" for i in range(lo, min(n, lo + 100))]), EventContext.new())
    wall, cpu = meter.stop()
    b.put("timers.schedule.100", n / wall, f"{n:,} timers; {meter.note(wall, cpu, n)}")


async def fire_timers(b: Bench, pool: asyncpg.Pool, batch: int) -> None:
    n = b.sizes.timers_fire
    async with pool.acquire() as conn:
        await copy_timers(conn, f"fire{batch}", n, datetime.now(UTC) - timedelta(minutes=10), 1e-6)
        pending = int(await conn.fetchval("SELECT count(*) FROM hearth_timers"))
    b.put("timers.pending", float(pending), "due from tomorrow on, plus the due ones fired below")
    poller = TimerPoller(UnitOfWork(pool, "bench"), timer_routes((BenchTimer, on_bench_timer)), batch_size=batch)
    fired = 0
    meter = CpuMeter()
    with b.profiled("timers-fire") if batch == b.args.fire_batches[0] else contextlib.nullcontext():
        while claimed := await poller.fire_due():
            fired += claimed
    wall, cpu = meter.stop()
    if fired != n:
        raise RuntimeError(f"fired {fired} of {n} due timers")
    b.put(f"timers.fire.{batch}", n / wall, f"{n:,} due among {pending:,}; {meter.note(wall, cpu, n)}")
