"""Timer lateness: timers falling due at a steady rate, fired by a running poller; fire time minus due time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg

from hearth.kit.timer_poller import TimerPoller, timer_routes
from hearth.kit.uow import UnitOfWork

from .harness import Bench
from .measure import percentile, wait_until
from .timer_load import BenchTimer, copy_timers, on_bench_timer


async def timer_lateness(b: Bench, pool: asyncpg.Pool) -> None:
    rate, seconds, interval = b.args.timer_rate, b.sizes.timer_seconds, b.args.timer_interval
    n = int(rate * seconds)
    b.put("timers.interval", interval * 1000, f"batch {b.args.timer_batch}")
    first_due = datetime.now(UTC) + timedelta(seconds=2)
    async with pool.acquire() as conn:
        await copy_timers(conn, "late", n, first_due, 1 / rate)
    poller = TimerPoller(
        UnitOfWork(pool, "bench"),
        timer_routes((BenchTimer, on_bench_timer)),
        interval=interval,
        batch_size=b.args.timer_batch,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))

    async def all_fired() -> bool:
        return bool(await pool.fetchval("SELECT count(*) FROM bench_timer_fired WHERE key LIKE 'late-%'") >= n)

    try:
        await asyncio.sleep(max(0.0, (first_due - datetime.now(UTC)).total_seconds() + seconds))
        await wait_until(all_fired, 30 + interval, "every paced timer to fire", every=0.25)
    finally:
        stop.set()
        await task
    late = await pool.fetch(
        "SELECT extract(epoch FROM fired_at - due_at) AS s FROM bench_timer_fired WHERE key LIKE 'late-%'"
    )
    values = [float(r["s"]) for r in late]
    note = f"{len(values):,} timers over {seconds:g} s, poller batch {b.args.timer_batch}, every {interval:g} s"
    b.put("timers.late.p50", percentile(values, 0.5) * 1000, note)
    b.put("timers.late.p99", percentile(values, 0.99) * 1000, note)
