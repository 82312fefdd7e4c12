"""Firing a batch of due timers in one transaction: a failing handler costs only its own timer, a transient fault
rolls the whole batch back, two pollers never fire one timer twice, and a poller killed inside a batch loses
nothing and fires nothing twice."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from hearth.contracts.events.screening import Screened
from hearth.kit.clock import ManualClock
from hearth.kit.context import EventContext
from hearth.kit.testing.helpers import Worker, wait_for
from hearth.kit.testing.workers import ProbeTimer, on_test_timer
from hearth.kit.timer_poller import TimerPoller, timer_routes
from hearth.kit.tx import Tx
from hearth.kit.uow import UnitOfWork


async def _schedule(pool: asyncpg.Pool, keys: list[str], at: datetime, correlation_id: str = "corr-1") -> None:
    async def schedule_all(tx: Tx) -> None:
        for key in keys:
            tx.schedule(ProbeTimer(key=key), at=at, key=key)

    await UnitOfWork(pool, "followup").run(schedule_all, EventContext(correlation_id=correlation_id))


async def _effects(pool: asyncpg.Pool) -> dict[str, int]:
    rows = await pool.fetch("SELECT key, count(*) AS n FROM test_timer_effects GROUP BY key")
    return {r["key"]: r["n"] for r in rows}


async def _pending(pool: asyncpg.Pool) -> dict[str, asyncpg.Record]:
    return {r["key"]: r for r in await pool.fetch("SELECT * FROM hearth_timers")}


async def test_one_failing_handler_in_a_batch_postpones_its_timer_and_fires_the_others_once(pool):
    clock = ManualClock()
    keys = [f"t-{i:02d}" for i in range(50)]
    await _schedule(pool, keys, clock.now())
    calls: dict[str, int] = {}

    async def handler(timer: ProbeTimer, tx: Tx) -> None:
        calls[timer.key] = calls.get(timer.key, 0) + 1
        await on_test_timer(1)(timer, tx)
        if timer.key == "t-17":
            raise ValueError("handler bug")
        if timer.key == "t-33":  # a failing statement aborts the transaction: only a rollback recovers it
            await tx.conn.execute("SELECT 1 / 0")

    poller = TimerPoller(
        UnitOfWork(pool, "followup", clock), timer_routes((ProbeTimer, handler)), retry_after=timedelta(seconds=30)
    )
    counted = _counts()
    assert await poller.fire_due() == 50
    assert _counts() - counted == Counter(fired=48, lateness=48, errors=2)
    assert await _effects(pool) == {k: 1 for k in keys if k not in ("t-17", "t-33")}
    pending = await _pending(pool)
    assert sorted(pending) == ["t-17", "t-33"]
    assert "handler bug" in pending["t-17"]["last_error"] and "DivisionByZero" in pending["t-33"]["last_error"]
    for row in pending.values():
        assert (row["attempts"], row["due_at"]) == (1, clock.now() + timedelta(seconds=30))
    assert max(calls.values()) <= 2, "a handler ran more than once beyond the batch's one retry"

    clock.advance(timedelta(seconds=29))
    assert await poller.fire_due() == 0, "a postponed timer fired before its retry time"


async def test_the_events_of_a_batch_with_a_failing_handler_are_staged_once_for_the_timers_that_fired(pool):
    clock = ManualClock()
    uow = UnitOfWork(pool, "screening", clock)
    keys = [f"t-{i}" for i in range(10)]

    async def schedule_all(tx: Tx) -> None:
        for key in keys:
            tx.schedule(ProbeTimer(key=key), at=clock.now(), key=key)

    await uow.run(schedule_all, EventContext.new())

    async def emit(timer: ProbeTimer, tx: Tx) -> None:
        tx.emit(Screened.example(), subject=f"pt-{timer.key}")
        if timer.key == "t-3":  # after staging its event: the event must go with the rolled-back effects
            raise ValueError("handler bug")

    assert await TimerPoller(uow, timer_routes((ProbeTimer, emit))).fire_due() == 10
    rows = await pool.fetch("SELECT key, count(*) AS n, count(DISTINCT event_id) AS d FROM hearth_outbox GROUP BY key")
    assert {r["key"]: (r["n"], r["d"]) for r in rows} == {f"pt-{k}": (1, 1) for k in keys if k != "t-3"}
    assert list(await _pending(pool)) == ["t-3"]


async def test_a_timer_without_handler_is_postponed_and_the_rest_of_its_batch_fires(pool):
    clock = ManualClock()
    await _schedule(pool, ["a", "b"], clock.now())
    await pool.execute(
        "INSERT INTO hearth_timers (key, kind, due_at, payload) VALUES ('orphan', 'no-such-kind', $1, '{}')",
        clock.now() - timedelta(seconds=1),
    )
    poller = TimerPoller(UnitOfWork(pool, "followup", clock), timer_routes((ProbeTimer, on_test_timer(1))))
    assert await poller.fire_due() == 3
    assert await _effects(pool) == {"a": 1, "b": 1}
    orphan = (await _pending(pool))["orphan"]
    assert orphan["attempts"] == 1 and "no handler for no-such-kind" in orphan["last_error"]


async def test_a_handler_setting_its_own_timer_again_keeps_the_new_one(pool):
    clock = ManualClock()
    await _schedule(pool, ["again", "once"], clock.now())

    async def rearm(timer: ProbeTimer, tx: Tx) -> None:
        await on_test_timer(1)(timer, tx)
        if timer.key == "again":
            tx.schedule(ProbeTimer(key="again"), at=tx.now + timedelta(hours=1), key="again")

    poller = TimerPoller(UnitOfWork(pool, "followup", clock), timer_routes((ProbeTimer, rearm)))
    assert await poller.fire_due() == 2
    assert await _effects(pool) == {"again": 1, "once": 1}
    pending = await _pending(pool)
    assert list(pending) == ["again"] and pending["again"]["due_at"] == clock.now() + timedelta(hours=1)


async def test_each_timer_of_a_batch_runs_at_its_due_time_with_its_own_ids(pool):
    clock = ManualClock()
    long_key = "k" * 80
    due = {"early": clock.now() - timedelta(minutes=10), "late": clock.now() - timedelta(seconds=1)}
    await _schedule(pool, ["early"], due["early"], correlation_id="corr-early")
    await _schedule(pool, ["late"], due["late"], correlation_id="corr-late")
    await pool.execute(
        "INSERT INTO hearth_timers (key, kind, due_at, payload) VALUES ($1, $2, $3, $4)",
        long_key,
        ProbeTimer.kind,
        clock.now(),
        f'{{"key": "{long_key}"}}',
    )
    due[long_key] = clock.now()
    seen: dict[str, tuple[datetime, EventContext]] = {}

    async def capture(timer: ProbeTimer, tx: Tx) -> None:
        seen[timer.key] = (tx.now, tx.context)

    poller = TimerPoller(UnitOfWork(pool, "followup", clock), timer_routes((ProbeTimer, capture)))
    assert await poller.fire_due() == 3
    assert {k: now for k, (now, _) in seen.items()} == due
    contexts = {k: ctx for k, (_, ctx) in seen.items()}
    assert contexts["early"].correlation_id == "corr-early" and contexts["late"].correlation_id == "corr-late"
    assert contexts["early"].causation_id == "timer:early"
    assert contexts["early"].id_seed == f"followup:timer:early:{due['early'].isoformat()}"
    hashed = contexts[long_key]  # without a correlation id, and too long to be an identifier
    assert hashed.correlation_id == str(uuid.uuid5(uuid.NAMESPACE_URL, long_key))
    assert hashed.causation_id == str(uuid.uuid5(uuid.NAMESPACE_URL, f"timer:{long_key}"))


async def test_a_transient_fault_in_a_handler_rolls_the_whole_batch_back(pool):
    clock = ManualClock()
    keys = [f"t-{i}" for i in range(10)]
    await _schedule(pool, keys, clock.now())

    async def db_gone(timer: ProbeTimer, tx: Tx) -> None:
        await on_test_timer(1)(timer, tx)
        if timer.key == "t-5":
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")

    uow = UnitOfWork(pool, "followup", clock)
    with pytest.raises(asyncpg.exceptions.ConnectionDoesNotExistError):
        await TimerPoller(uow, timer_routes((ProbeTimer, db_gone))).fire_due()
    assert await _effects(pool) == {}
    assert {k: r["attempts"] for k, r in (await _pending(pool)).items()} == {k: 0 for k in keys}
    assert await TimerPoller(uow, timer_routes((ProbeTimer, on_test_timer(1)))).fire_due() == 10
    assert await _effects(pool) == {k: 1 for k in keys}


async def test_two_pollers_racing_over_1000_due_timers_fire_each_once(kit_dsn, pool):
    keys = [f"r-{i:04d}" for i in range(1000)]
    await _schedule(pool, keys, ManualClock().now())
    pools = [await asyncpg.create_pool(kit_dsn, min_size=1, max_size=2) for _ in (1, 2)]
    stop = asyncio.Event()
    pollers = [
        TimerPoller(
            UnitOfWork(p, "followup"), timer_routes((ProbeTimer, on_test_timer(i))), interval=0.01, batch_size=50
        )
        for i, p in enumerate(pools, start=1)
    ]
    tasks = [asyncio.create_task(p.run(stop)) for p in pollers]
    try:
        await wait_for(lambda: _fired_at_least(pool, 1000), timeout=120, what="1,000 timers to fire")
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        for p in pools:
            await p.close()
    assert await _effects(pool) == {k: 1 for k in keys}
    assert await pool.fetchval("SELECT count(*) FROM hearth_timers") == 0
    by_worker = dict(await pool.fetch("SELECT fired_by, count(*) FROM test_timer_effects GROUP BY fired_by"))
    assert set(by_worker) <= {1, 2}


async def test_a_poller_killed_inside_a_batch_loses_nothing_and_fires_nothing_twice(kit_dsn, pool):
    n = 3000
    keys = [f"k-{i:04d}" for i in range(n)]
    await _schedule(pool, keys, ManualClock().now())

    def poller(worker_id: int, *extra: str) -> Worker:
        return Worker("poller", "--dsn", kit_dsn, "--worker-id", str(worker_id), "--batch", "100", *extra).start()

    worker = poller(1, "--delay", "0.003")
    try:
        await wait_for(lambda: _fired_at_least(pool, 300), timeout=120, what="300 timers to fire")
        # Kill while a batch has written (its deletes and effects) and not committed.
        await wait_for(lambda: _open_writing_transaction(pool), timeout=30, interval=0.01, what="a batch in flight")
        worker.kill()
        fired_at_kill = sum((await _effects(pool)).values())
        assert fired_at_kill < n, "the poller finished before it could be killed inside a batch"
        assert await pool.fetchval("SELECT count(*) FROM hearth_timers") == n - fired_at_kill
        worker = poller(2)
        await wait_for(lambda: _fired_at_least(pool, n), timeout=120, what="the restarted poller to fire the rest")
    finally:
        worker.stop()
    assert await _effects(pool) == {k: 1 for k in keys}
    assert await pool.fetchval("SELECT count(*) FROM hearth_timers") == 0


def _counts() -> Counter[str]:
    """The kit's metrics of the test timer's kind, as they stand."""
    labels = {"service": "followup", "kind": ProbeTimer.kind}
    samples = {
        "fired": ("hearth_timers_fired_total", labels),
        "lateness": ("hearth_timer_lateness_seconds_count", labels),
        "errors": (
            "hearth_handler_errors_total",
            {"service": "followup", "trigger": ProbeTimer.kind, "kind": "permanent"},
        ),
    }
    return Counter({k: int(REGISTRY.get_sample_value(name, lab) or 0) for k, (name, lab) in samples.items()})


async def _fired_at_least(pool: asyncpg.Pool, n: int) -> bool:
    return bool(await pool.fetchval("SELECT count(DISTINCT key) FROM test_timer_effects") >= n)


async def _open_writing_transaction(pool: asyncpg.Pool) -> Any:
    return await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        " AND backend_xid IS NOT NULL"
    )
