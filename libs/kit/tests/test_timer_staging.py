"""What a unit of work's schedules and cancels come to: written in few statements at flush, they must end as if
applied one by one in the order they were staged."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

import asyncpg
import pytest

from hearth.kit.clock import ManualClock
from hearth.kit.context import EventContext
from hearth.kit.testing.workers import ProbeTimer
from hearth.kit.tx import Tx
from hearth.kit.uow import UnitOfWork

T0 = ManualClock().now()


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def _run(pool: asyncpg.Pool, *steps: Callable[[Tx], None], correlation_id: str = "c-1") -> None:
    async def staged(tx: Tx) -> None:
        for step in steps:
            step(tx)

    await UnitOfWork(pool, "followup").run(staged, EventContext(correlation_id=correlation_id))


def schedule(key: str, minutes: int, *, note: str | None = None) -> Callable[[Tx], None]:
    return lambda tx: tx.schedule(ProbeTimer(key=note or key), at=at(minutes), key=key)


def cancel(key: str) -> Callable[[Tx], None]:
    return lambda tx: tx.cancel(key)


def cancel_prefix(prefix: str) -> Callable[[Tx], None]:
    return lambda tx: tx.cancel_prefix(prefix)


async def _timers(pool: asyncpg.Pool) -> dict[str, tuple[datetime, str]]:
    rows = await pool.fetch("SELECT key, due_at, payload->>'key' AS note FROM hearth_timers")
    return {r["key"]: (r["due_at"], r["note"]) for r in rows}


async def test_schedule_then_cancel_of_one_key_ends_cancelled(pool):
    await _run(pool, schedule("a", 1), cancel("a"))
    assert await _timers(pool) == {}


async def test_cancel_then_schedule_of_one_key_ends_scheduled(pool):
    await _run(pool, schedule("a", 1))
    await _run(pool, cancel("a"), schedule("a", 5))
    assert await _timers(pool) == {"a": (at(5), "a")}


async def test_the_later_schedule_of_a_key_wins(pool):
    await _run(pool, schedule("a", 1, note="first"), schedule("b", 2), schedule("a", 3, note="second"))
    assert await _timers(pool) == {"a": (at(3), "second"), "b": (at(2), "b")}


async def test_schedule_cancel_schedule_ends_with_the_last_schedule(pool):
    await _run(pool, schedule("a", 1, note="first"), cancel("a"), schedule("a", 3, note="last"))
    assert await _timers(pool) == {"a": (at(3), "last")}


async def test_a_prefix_cancel_takes_earlier_schedules_under_it_but_not_later_ones(pool):
    await _run(pool, schedule("s1:old", 1), schedule("s2:other", 1))
    await _run(pool, schedule("s1:early", 2), cancel_prefix("s1:"), schedule("s1:late", 3))
    assert await _timers(pool) == {"s1:late": (at(3), "s1:late"), "s2:other": (at(1), "s2:other")}


async def test_cancelling_keys_and_prefixes_in_one_unit_of_work(pool):
    await _run(pool, *(schedule(f"k{i}", i) for i in range(6)), schedule("p:1", 1), schedule("q:1", 1))
    await _run(pool, cancel("k1"), cancel("k4"), cancel_prefix("p:"), cancel_prefix("q:"), cancel("absent"))
    assert sorted(await _timers(pool)) == ["k0", "k2", "k3", "k5"]


async def test_rescheduling_an_existing_timer_resets_its_attempts_and_error(pool):
    await _run(pool, schedule("a", 1))
    await pool.execute("UPDATE hearth_timers SET attempts = 3, last_error = 'boom' WHERE key = 'a'")
    await _run(pool, schedule("a", 9, note="moved"), correlation_id="c-2")
    row = await pool.fetchrow("SELECT * FROM hearth_timers WHERE key = 'a'")
    assert (row["due_at"], row["attempts"], row["last_error"], row["correlation_id"]) == (at(9), 0, None, "c-2")
    assert row["kind"] == ProbeTimer.kind


@pytest.mark.parametrize("n", [1, 250])
async def test_every_schedule_of_a_unit_of_work_is_written(pool, n):
    await _run(pool, *(schedule(f"t-{i:04d}", i) for i in range(n)))
    stored = await _timers(pool)
    assert stored == {f"t-{i:04d}": (at(i), f"t-{i:04d}") for i in range(n)}
    corr = await pool.fetch("SELECT DISTINCT correlation_id FROM hearth_timers")
    assert [r[0] for r in corr] == ["c-1"]


async def test_a_unit_of_work_that_fails_writes_no_timer(pool):
    async def fails(tx: Tx) -> None:
        tx.schedule(ProbeTimer(key="a"), at=at(1), key="a")
        tx.cancel("b")
        await tx.flush()
        raise ValueError("after the flush")

    await _run(pool, schedule("b", 1))
    with pytest.raises(ValueError, match="after the flush"):
        await UnitOfWork(pool, "followup").run(fails, EventContext.new())
    assert sorted(await _timers(pool)) == ["b"]


async def test_random_orderings_end_as_the_operations_applied_one_by_one(pool):
    """Each sequence twice: staged in one unit of work, and each operation in its own."""
    rng = random.Random(20261203)
    keys, prefixes = ["a", "b", "p:1", "p:2", "q:1"], ["p:", "q:", "p:1"]
    for round_ in range(40):
        steps: list[Callable[[Tx], None]] = []
        for i in range(rng.randint(1, 10)):
            kind = rng.choice(["schedule", "schedule", "cancel", "cancel_prefix"])
            if kind == "schedule":
                key = rng.choice(keys)
                steps.append(schedule(key, rng.randint(1, 99), note=f"{key}#{i}"))
            elif kind == "cancel":
                steps.append(cancel(rng.choice(keys)))
            else:
                steps.append(cancel_prefix(rng.choice(prefixes)))
        start = [schedule(k, 0) for k in rng.sample(keys, rng.randint(0, len(keys)))]
        await pool.execute("DELETE FROM hearth_timers")
        if start:
            await _run(pool, *start)
        await _run(pool, *steps)
        together = await _timers(pool)
        await pool.execute("DELETE FROM hearth_timers")
        if start:
            await _run(pool, *start)
        for step in steps:
            await _run(pool, step)
        assert together == await _timers(pool), f"round {round_}"
