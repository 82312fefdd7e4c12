"""The outbox guarantee: every staged event reaches Kafka, each key's events in commit order, also when the
relay process is SIGKILLed midway and when two relay processes compete."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from hearth.contracts import topic_for
from hearth.contracts.events.screening import Screened
from hearth.kit import outbox
from hearth.kit.publisher import KafkaPublisher
from hearth.kit.relay import LEADER_LOCK, OutboxRelay
from hearth.kit.settings import kafka_client_options
from hearth.kit.testing.helpers import Worker, read_events, screened_event, stage_screened, wait_for
from hearth.kit.topics import ensure_topics

KEYS = [f"pt-{i:03d}" for i in range(100)]


async def _topic(infra, unique_name) -> tuple[str, str]:
    prefix = unique_name("ob") + "."
    topic = prefix + topic_for(Screened.event_type)
    await ensure_topics(infra.kafka_bootstrap, [topic], partitions=6)
    return prefix, topic


def _assert_in_order_once(staged: dict[str, list[str]], received) -> None:
    total = sum(len(ids) for ids in staged.values())
    assert len(received.seen) == total, f"{total - len(received.seen)} events never arrived"
    for key, ids in staged.items():
        assert received.order.get(key) == ids, f"events of {key} arrived out of commit order"


async def _sent(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM hearth_outbox WHERE sent_at IS NOT NULL"))


async def test_relay_killed_midway_loses_nothing_and_keeps_key_order(infra, kit_dsn, pool, unique_name):
    prefix, topic = await _topic(infra, unique_name)
    staged = await stage_screened(pool, KEYS, 100, prefix=prefix)  # 10,000 events
    relay = Worker("relay", "--dsn", kit_dsn, "--bootstrap", infra.kafka_bootstrap, "--batch", "200").start()
    try:
        await wait_for(lambda: _above(pool, 2000), what="the relay to publish 2,000 events")
        relay.kill()
        midway = await _sent(pool)
        assert midway < 10_000, "the relay finished before it could be killed midway"
        relay = Worker("relay", "--dsn", kit_dsn, "--bootstrap", infra.kafka_bootstrap, "--batch", "200").start()
        await wait_for(lambda: _above(pool, 9999), what="the restarted relay to publish the rest")
    finally:
        relay.stop()
    received = await read_events(infra.kafka_bootstrap, [topic], expect=10_000)
    _assert_in_order_once(staged, received)
    # At most the batch in flight at the kill is sent twice; consumers dedupe it by event id.
    assert received.deliveries - 10_000 <= 200


async def test_two_relay_processes_keep_key_order(infra, kit_dsn, pool, unique_name):
    prefix, topic = await _topic(infra, unique_name)
    relays = [
        Worker("relay", "--dsn", kit_dsn, "--bootstrap", infra.kafka_bootstrap, "--batch", "100").start()
        for _ in range(2)
    ]
    try:
        staged: dict[str, list[str]] = {k: [] for k in KEYS}
        for round_ in range(10):  # staged while both relays run; the leader is killed halfway
            part = await stage_screened(pool, KEYS, 10, prefix=prefix, chunk=50)
            for key, ids in part.items():
                staged[key].extend(ids)
            if round_ == 5:
                leader_pid = await wait_for(lambda: _leader_pid(pool), what="a relay to lead")
                leader = next(r for r in relays if r.proc is not None and r.proc.pid == leader_pid)
                leader.kill()
            await asyncio.sleep(0.05)
        await wait_for(lambda: _above(pool, 9999), timeout=90, what="every event to be published")
    finally:
        for r in relays:
            r.stop()
    received = await read_events(infra.kafka_bootstrap, [topic], expect=10_000)
    _assert_in_order_once(staged, received)


async def test_a_rolled_back_transaction_stages_nothing(pool):
    event = screened_event("pt-rollback")
    with pytest.raises(RuntimeError):
        async with pool.acquire() as conn, conn.transaction():
            await outbox.stage(conn, [event])
            raise RuntimeError("the state change failed")
    assert await pool.fetchval("SELECT count(*) FROM hearth_outbox") == 0


async def test_relay_wakes_on_commit_and_prunes_sent_rows(infra, kit_dsn, pool, unique_name):
    prefix, topic = await _topic(infra, unique_name)
    publisher = KafkaPublisher(infra.kafka_bootstrap, **kafka_client_options())
    from datetime import timedelta

    relay = OutboxRelay(kit_dsn, publisher, service="followup", sweep_interval=30, retention=timedelta(0))
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await wait_for(lambda: _leading(relay), what="the relay to lead")
        await stage_screened(pool, ["pt-wake"], 3, prefix=prefix)
        # The sweep is 30 s away: publishing within 5 s means NOTIFY woke the relay.
        await wait_for(lambda: _above(pool, 2), timeout=5, what="NOTIFY to wake the relay")
        conn = await asyncpg.connect(kit_dsn)
        try:
            assert await relay.prune(conn) == 3
        finally:
            await conn.close()
        assert await pool.fetchval("SELECT count(*) FROM hearth_outbox") == 0
    finally:
        stop.set()
        await task
        await publisher.stop()
    received = await read_events(infra.kafka_bootstrap, [topic], expect=3, timeout=10)
    assert len(received.seen) == 3


async def _above(pool: asyncpg.Pool, n: int) -> bool:
    return await _sent(pool) > n


async def _leader_pid(pool: asyncpg.Pool) -> int | None:
    name = await pool.fetchval(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = $1"
        # pg_locks is cluster-wide: other tests' relays hold the same lock in their own databases.
        " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        LEADER_LOCK,
    )
    return int(name.rsplit("-", 1)[1]) if name else None


async def _leading(relay: OutboxRelay) -> bool:
    return relay.is_leader
