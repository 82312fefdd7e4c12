"""Outbox latency: staging commit here → relay worker process → Kafka → arrival at a plain consumer here."""

from __future__ import annotations

import asyncio
import contextlib
import time

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer

from hearth.kit.settings import kafka_client_options
from hearth.kit.topics import partitions_of

from .events import SCREENED_TOPIC, Events, Stager
from .harness import Bench
from .measure import pace, percentile, wait_until


async def relay_latency(b: Bench, dsn: str, prefix: str, events: Events, rate: float) -> None:
    """Stage at a paced rate here, relay in a worker process, a plain consumer here records the arrivals."""
    topic = prefix + SCREENED_TOPIC
    relay = b.worker("relay", "--dsn", dsn, "--bootstrap", b.bootstrap, "--batch", str(b.args.relay_batch))
    consumer = AIOKafkaConsumer(
        **kafka_client_options(), bootstrap_servers=b.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    await consumer.start()
    conn = await asyncpg.connect(dsn)
    committed: dict[str, float] = {}
    arrived: dict[str, float] = {}
    try:
        partitions = await partitions_of(b.bootstrap, [topic])
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)
        reader = asyncio.create_task(_read_arrivals(consumer, arrived))
        stager = Stager(conn, prefix, events, committed)
        await stager.stage(0, 10)  # warm-up: the relay leads and the producer is connected

        async def warm() -> bool:
            relay.check()
            return len(arrived) >= 10

        await wait_until(warm, 60, "the relay worker to publish the warm-up events")
        warm_ids = set(committed)
        achieved = await pace(rate, b.sizes.latency_seconds, stager.stage)

        async def all_arrived() -> bool:
            relay.check()
            return len(arrived) >= len(committed)

        try:
            await wait_until(all_arrived, 60, "every staged event to arrive")
        finally:
            b.peak("mem.relay", relay.peak_rss_mib(), "relay latency run")
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    finally:
        await relay.stop()
        await conn.close()
        await consumer.stop()
    latencies = [arrived[i] - committed[i] for i in committed if i not in warm_ids]
    note = f"at {achieved:,.0f}/s ({b.args.load:.0%} of max unless --outbox-rate), {len(latencies):,} events"
    b.put("outbox.lat.p50", percentile(latencies, 0.5) * 1000, note)
    b.put("outbox.lat.p99", percentile(latencies, 0.99) * 1000, note)


async def _read_arrivals(consumer: AIOKafkaConsumer, out: dict[str, float]) -> None:
    while True:
        batch = await consumer.getmany(timeout_ms=100)
        now = time.time()
        for records in batch.values():
            for r in records:
                out[orjson.loads(r.value)["id"]] = now
