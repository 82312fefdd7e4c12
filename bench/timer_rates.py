"""The timer stages alone, each next to the raw statement rate measured just before it: for a sampling profiler,
and for before/after comparisons on a machine whose load changes from one minute to the next (a ratio of two
rates taken seconds apart moves less than one whose limit was measured minutes earlier).

    uv run python bench/timer_rates.py --timers 2000 --rounds 5
    uv run py-spy record -o bench/profiles/timers-after.svg -- python bench/timer_rates.py --timers 20000

Each round: raw asyncpg INSERTs, 100 per transaction (the bench's "raw PG statements" limit), for --raw-seconds;
then --timers timers scheduled through a UnitOfWork 100 per transaction; the raw rate again; then --timers due
timers fired by `TimerPoller.fire_due` (batch --batch) among --pending timers not yet due.  Needs
HEARTH_PG_ADMIN_DSN (`python3 deploy/local/infra.py env`); makes a database of its own and drops it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.hearthbench.timer_load import TIMER_FIRED_SQL, BenchTimer, copy_timers, on_bench_timer
from hearth.kit.context import EventContext
from hearth.kit.db import create_pool
from hearth.kit.testing import postgres
from hearth.kit.testing.helpers import migrate_kit
from hearth.kit.timer_poller import TimerPoller, timer_routes
from hearth.kit.tx import Tx
from hearth.kit.uow import UnitOfWork

ROW_SQL = "CREATE TABLE bench_rows (id bigserial PRIMARY KEY, k integer NOT NULL, payload text NOT NULL)"
ROW_INSERT = "INSERT INTO bench_rows (k, payload) VALUES ($1, $2)"


async def raw_statements(pool: asyncpg.Pool, seconds: float) -> float:
    async with pool.acquire() as conn:
        await conn.execute(ROW_INSERT, 0, "x" * 100)
        rows, started = 0, time.perf_counter()
        while time.perf_counter() < started + seconds:
            async with conn.transaction():
                for _ in range(100):
                    await conn.execute(ROW_INSERT, rows, "x" * 100)
                    rows += 1
        return rows / (time.perf_counter() - started)


async def schedule_rate(uow: UnitOfWork, n: int, prefix: str) -> float:
    at = datetime.now(UTC) + timedelta(days=2)
    started = time.perf_counter()
    for lo in range(0, n, 100):
        keys = [f"{prefix}-{i}" for i in range(lo, min(n, lo + 100))]

        async def schedule(tx: Tx, keys: list[str] = keys) -> None:
            for key in keys:
                tx.schedule(BenchTimer(key=key, due=at.timestamp()), at=at, key=key)

        await uow.run(schedule, EventContext.new())
    return n / (time.perf_counter() - started)


async def fire_rate(uow: UnitOfWork, n: int, batch: int, prefix: str) -> float:
    async with uow.pool.acquire() as conn:
        await copy_timers(conn, prefix, n, datetime.now(UTC) - timedelta(minutes=10), 1e-6)
    poller = TimerPoller(uow, timer_routes((BenchTimer, on_bench_timer)), batch_size=batch)
    started, fired = time.perf_counter(), 0
    while claimed := await poller.fire_due():
        fired += claimed
    if fired != n:
        raise RuntimeError(f"fired {fired} of {n}")
    return n / (time.perf_counter() - started)


async def main(args: argparse.Namespace) -> None:
    admin = os.environ["HEARTH_PG_ADMIN_DSN"]
    dsn = await postgres.create_database(admin, prefix="bench_timer_rates")
    ratios: dict[str, list[float]] = {"schedule": [], "fire": []}
    try:
        await migrate_kit(dsn, TIMER_FIRED_SQL + ";" + ROW_SQL)
        pool = await create_pool(dsn, max_size=2)
        try:
            uow = UnitOfWork(pool, "bench")
            async with pool.acquire() as conn:
                await copy_timers(conn, "pending", args.pending, datetime.now(UTC) + timedelta(days=1), 0.001)
                await conn.execute("ANALYZE hearth_timers")
            for r in range(args.rounds):
                raw = await raw_statements(pool, args.raw_seconds)
                rate = await schedule_rate(uow, args.timers, f"s{r}")
                ratios["schedule"].append(rate / raw)
                print(f"round {r + 1}: raw {raw:,.0f} rows/s, schedule (100 per unit of work) {rate:,.0f} timers/s"
                      f" = {rate / raw:.2f}", flush=True)  # fmt: skip
                raw = await raw_statements(pool, args.raw_seconds)
                rate = await fire_rate(uow, args.timers, args.batch, f"f{r}")
                ratios["fire"].append(rate / raw)
                print(f"round {r + 1}: raw {raw:,.0f} rows/s, fire_due (batch {args.batch}) {rate:,.0f} timers/s"
                      f" = {rate / raw:.2f}", flush=True)  # fmt: skip
        finally:
            await pool.close()
    finally:
        await postgres.drop_database(admin, dsn)
    for stage, values in ratios.items():
        print(f"{stage}: ratio to raw statements, median of {len(values)}: {statistics.median(values):.2f}"
              f" (min {min(values):.2f}, max {max(values):.2f})")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--timers", type=int, default=2000, help="timers scheduled, and fired, per round")
    parser.add_argument("--pending", type=int, default=20_000, help="timers not yet due, in the table throughout")
    parser.add_argument("--batch", type=int, default=100, help="poller batch size")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--raw-seconds", type=float, default=1.5)
    asyncio.run(main(parser.parse_args()))
