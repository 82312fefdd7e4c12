"""Kafka, then Postgres, stopped for 20 s mid-stream while a relay and a consumer process run: no loss, no
double effect, no dead letters, and both recover by themselves."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from hearth.contracts import dlq_topic, topic_for
from hearth.contracts.events.screening import Screened
from hearth.kit.db import retry_transient
from hearth.kit.testing import postgres
from hearth.kit.testing.helpers import Worker, group_lag, migrate_kit, read_raw, stage_screened, wait_for
from hearth.kit.testing.workers import EFFECTS_SQL
from hearth.kit.topics import ensure_topics

OUTAGE_SECONDS = 20
KEYS = [f"pt-{i:02d}" for i in range(20)]


@pytest.mark.parametrize("outage", ["kafka", "postgres"])
async def test_an_outage_mid_stream_loses_and_doubles_nothing(private_infra, unique_name, outage):
    bootstrap, admin = private_infra.kafka_bootstrap, private_infra.pg_admin_dsn
    source_dsn = await postgres.create_database(admin)
    sink_dsn = await postgres.create_database(admin)
    for dsn in (source_dsn, sink_dsn):
        await migrate_kit(dsn, EFFECTS_SQL)
    prefix = unique_name("fault") + "."
    topic, dlq = prefix + topic_for(Screened.event_type), prefix + dlq_topic("followup")
    group = unique_name("followup")
    await ensure_topics(bootstrap, [topic, dlq], partitions=3)
    workers = [
        Worker("relay", "--dsn", source_dsn, "--bootstrap", bootstrap).start(),
        Worker("consumer", "--dsn", sink_dsn, "--bootstrap", bootstrap, "--prefix", prefix, "--group", group).start(),
    ]
    source = await asyncpg.create_pool(source_dsn, min_size=1, max_size=2)
    sink = await asyncpg.create_pool(sink_dsn, min_size=1, max_size=2)
    staged = 0
    try:

        async def stage_rounds(rounds: int) -> None:
            nonlocal staged
            for _ in range(rounds):
                await retry_transient(lambda: stage_screened(source, KEYS, 1, prefix=prefix))
                staged += len(KEYS)
                await asyncio.sleep(0.1)

        await stage_rounds(20)
        await wait_for(lambda: _effects_at_least(sink, 100), timeout=60, what="the stream to flow")
        stop, start = {
            "kafka": (private_infra.stop_kafka, private_infra.start_kafka),
            "postgres": (private_infra.stop_postgres, private_infra.start_postgres),
        }[outage]
        await asyncio.to_thread(stop)
        if outage == "kafka":
            await stage_rounds(20)  # staged while the broker is down: must leave once it is back
        else:
            await asyncio.sleep(OUTAGE_SECONDS / 2)
        await asyncio.sleep(OUTAGE_SECONDS / 2)
        await asyncio.to_thread(start)
        await stage_rounds(20)
        await wait_for(lambda: _effects_at_least(sink, staged), timeout=120, what=f"all {staged} events applied")
        await wait_for(lambda: _lag_zero(bootstrap, group, topic), timeout=60, what="offsets committed to the end")
        row = await sink.fetchrow("SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM test_effects")
        assert (row["n"], row["d"]) == (staged, staged)
        assert all(w.alive for w in workers), "a worker died instead of recovering"
        assert await read_raw(bootstrap, dlq, expect=1, timeout=3) == [], "an outage sent records to the DLQ"
    finally:
        for w in workers:
            w.stop()
        await source.close()
        await sink.close()


async def _effects_at_least(pool: asyncpg.Pool, n: int) -> bool:
    try:
        return int(await pool.fetchval("SELECT count(DISTINCT event_id) FROM test_effects")) >= n
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False


async def _lag_zero(bootstrap: str, group: str, topic: str) -> bool:
    return await group_lag(bootstrap, group, [topic]) == 0
