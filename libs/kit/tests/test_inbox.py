"""The inbox guarantee: a consumer process killed mid-stream loses nothing and doubles nothing, and the whole
stream delivered again (offsets reset to earliest) has no second effect — with a handler per event and with a
batch handler."""

from __future__ import annotations

import asyncpg
import pytest

from hearth.contracts import topic_for
from hearth.contracts.events.screening import Screened
from hearth.kit.testing.helpers import (
    Worker,
    group_lag,
    produce,
    reset_group_to_earliest,
    screened_event,
    wait_for,
)
from hearth.kit.topics import ensure_topics


async def _effects(pool: asyncpg.Pool) -> tuple[int, int]:
    row = await pool.fetchrow("SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM test_effects")
    return int(row["n"]), int(row["d"])


@pytest.mark.parametrize("handler", ["each", "batched"])
async def test_killed_consumer_and_full_redelivery_apply_each_event_once(infra, kit_dsn, pool, unique_name, handler):
    prefix = unique_name("ib") + "."
    topic = prefix + topic_for(Screened.event_type)
    group = unique_name("followup")
    await ensure_topics(infra.kafka_bootstrap, [topic], partitions=6)
    events = [screened_event(f"pt-{i % 100:03d}") for i in range(10_000)]
    await produce(infra.kafka_bootstrap, [(topic, e.partitionkey.encode(), e.to_json()) for e in events])

    def consumer() -> Worker:
        return Worker(
            "consumer",
            "--dsn",
            kit_dsn,
            "--bootstrap",
            infra.kafka_bootstrap,
            "--prefix",
            prefix,
            "--group",
            group,
            "--handler",
            handler,
        ).start()

    worker = consumer()
    try:
        await wait_for(lambda: _applied_more_than(pool, 1500), timeout=120, what="1,500 effects")
        worker.kill()
        applied_at_kill, _ = await _effects(pool)
        assert applied_at_kill < 10_000, "the consumer finished before it could be killed mid-stream"
        worker = consumer()
        await wait_for(
            lambda: _lag_is_zero(infra.kafka_bootstrap, group, topic),
            timeout=180,
            what="the restarted consumer to commit to the end",
        )
    finally:
        worker.stop()
    assert await _effects(pool) == (10_000, 10_000)

    # Kafka's committed offsets are informational: moving them back re-reads nothing (the database position
    # is where the consumer seeks), and the consumer puts them back where its database says.
    await reset_group_to_earliest(infra.kafka_bootstrap, group, [topic])
    assert await group_lag(infra.kafka_bootstrap, group, [topic]) == 10_000
    worker = consumer()
    try:
        await wait_for(
            lambda: _lag_is_zero(infra.kafka_bootstrap, group, topic),
            timeout=60,
            what="the consumer to restore Kafka's offsets from its database",
        )
    finally:
        worker.stop()
    assert await pool.fetchval("SELECT count(*) FROM hearth_inbox") == 10_000

    # The database's positions lost (a backup from before the stream): everything is read again, and applied
    # once.
    await pool.execute("DELETE FROM hearth_consumer_positions")
    worker = consumer()
    try:
        await wait_for(
            lambda: _positions_at(pool, 10_000),
            timeout=180,
            what="the redelivered stream to be consumed",
        )
    finally:
        worker.stop()
    assert await _effects(pool) == (10_000, 10_000)
    duplicates = await pool.fetchval("SELECT count(*) FROM hearth_inbox")
    assert duplicates == 10_000


async def _positions_at(pool: asyncpg.Pool, total: int) -> bool:
    return await pool.fetchval("SELECT coalesce(sum(next_offset), 0) FROM hearth_consumer_positions") == total


async def _applied_more_than(pool: asyncpg.Pool, n: int) -> bool:
    return (await _effects(pool))[0] > n


async def _lag_is_zero(bootstrap: str, group: str, topic: str) -> bool:
    return await group_lag(bootstrap, group, [topic]) == 0
