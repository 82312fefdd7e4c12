"""The timer the timer stages schedule and fire, its handler, and the COPY that loads timers in bulk."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import ClassVar

import orjson

from hearth.kit.db import Connection
from hearth.kit.tx import TimerPayload, Tx

TIMER_KIND = "bench-timer"
TIMER_FIRED_SQL = """
CREATE TABLE bench_timer_fired (
    key text NOT NULL, due_at timestamptz NOT NULL, fired_at timestamptz NOT NULL DEFAULT clock_timestamp())
"""


class BenchTimer(TimerPayload):
    kind: ClassVar[str] = TIMER_KIND
    key: str
    due: float  # epoch seconds: the handler writes its lateness from it


async def on_bench_timer(timer: BenchTimer, tx: Tx) -> None:
    await tx.conn.execute(
        "INSERT INTO bench_timer_fired (key, due_at) VALUES ($1, to_timestamp($2))", timer.key, timer.due
    )


async def copy_timers(conn: Connection, prefix: str, count: int, first_due: datetime, step: float) -> float:
    """COPY `count` timers due from `first_due`, `step` seconds apart, in chunks; returns the seconds COPY took."""
    spent = 0.0
    for lo in range(0, count, 100_000):
        rows = []
        for i in range(lo, min(count, lo + 100_000)):
            due = first_due + timedelta(seconds=i * step)
            key = f"{prefix}-{i}"
            payload = orjson.dumps({"key": key, "due": due.timestamp()}).decode()
            rows.append((key, TIMER_KIND, due, payload, None))
        started = time.perf_counter()
        await conn.copy_records_to_table(
            "hearth_timers", records=rows, columns=["key", "kind", "due_at", "payload", "correlation_id"]
        )
        spent += time.perf_counter() - started
    return spent
