"""The outbox: staging rates, the relay draining a backlog, and the latency from staging commit to arrival."""

from __future__ import annotations

import asyncio
import functools
import time

import asyncpg

from hearth.contracts import topic_for
from hearth.kit import outbox
from hearth.kit.publisher import KafkaPublisher
from hearth.kit.relay import OutboxRelay
from hearth.kit.settings import kafka_client_options

from .events import Events
from .harness import Bench
from .measure import CpuMeter, wait_until
from .outbox_latency import relay_latency
from .raw_kafka import raw_latency


async def outbox_section(b: Bench) -> None:
    dsn = await b.database("outbox")
    prefix = await b.topics("outbox")
    events = Events(b.args.keys, b.run_id)
    await b.attempt(
        ["outbox.stage.tx", "outbox.stage.1"], "outbox staging", lambda: stage_rates(b, dsn, prefix, events)
    )
    await b.attempt(["outbox.relay"], "relay drain", lambda: relay_drain(b, dsn))
    rate = b.args.outbox_rate or b.args.load * min(
        b.value("outbox.relay") or 2000.0, b.value("outbox.stage.tx") or 2000.0
    )
    raw = functools.partial(raw_latency, b, rate, "kafka.lat")
    await b.attempt(["kafka.lat.p50", "kafka.lat.p99"], f"raw Kafka latency at {rate:,.0f}/s", raw)
    keys = ["outbox.lat.p50", "outbox.lat.p99"]
    await b.attempt(keys, "relay latency", lambda: relay_latency(b, dsn, prefix, events, rate))


async def stage_rates(b: Bench, dsn: str, prefix: str, events: Events) -> None:
    def topic_of(event_type: str) -> str:
        return prefix + topic_for(event_type)

    n, per_tx = b.sizes.outbox_events, b.args.stage_tx
    staged = events.batch(0, n)
    conn = await asyncpg.connect(dsn)
    try:
        meter = CpuMeter()
        with b.profiled("outbox-stage"):
            for start in range(0, n, per_tx):
                async with conn.transaction():
                    await outbox.stage(conn, staged[start : start + per_tx], topic_of)
        wall, cpu = meter.stop()
        keys_per_tx = min(per_tx, b.args.keys)
        b.put(
            "outbox.stage.tx", n / wall, f"{n:,} events, {keys_per_tx} keys per transaction; {meter.note(wall, cpu, n)}"
        )
        count, end = 0, time.perf_counter() + b.sizes.pg_seconds
        meter = CpuMeter()
        while time.perf_counter() < end:
            async with conn.transaction():
                await outbox.stage(conn, [events.make(n + count)], topic_of)
            count += 1
        wall, cpu = meter.stop()
        b.put("outbox.stage.1", count / wall, f"{count:,} transactions; {meter.note(wall, cpu, count)}")
    finally:
        await conn.close()


async def relay_drain(b: Bench, dsn: str) -> None:
    """The relay in this process, started on a backlog, until every row is marked sent."""
    conn = await asyncpg.connect(dsn)
    publisher = KafkaPublisher(b.bootstrap, **kafka_client_options())
    relay = OutboxRelay(dsn, publisher, service="bench", batch_size=b.args.relay_batch, sweep_interval=0.2)
    stop = asyncio.Event()
    try:
        backlog = int(await conn.fetchval("SELECT count(*) FROM hearth_outbox WHERE sent_at IS NULL"))
        meter = CpuMeter()
        with b.profiled("relay"):
            task = asyncio.create_task(relay.run(stop))

            async def drained() -> bool:
                return not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM hearth_outbox WHERE sent_at IS NULL)")

            try:
                await wait_until(drained, 120, "the relay to drain its backlog", every=0.05)
            finally:
                stop.set()
                await task
        wall, cpu = meter.stop()
        # From the first batch marked sent to the last: the producer's start-up is left out.
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE sent_at > lo) AS n, extract(epoch FROM max(sent_at) - min(sent_at)) AS s"
            " FROM hearth_outbox, (SELECT min(sent_at) AS lo FROM hearth_outbox) first"
        )
    finally:
        await publisher.stop()
        await conn.close()
    if row is None or not row["n"] or not row["s"]:
        raise RuntimeError(f"too few events for a rate: raise --outbox-events above --relay-batch ({backlog} sent)")
    rate = row["n"] / float(row["s"])
    b.put("outbox.relay", rate, f"batch {b.args.relay_batch}; {meter.note(wall, cpu, backlog)}")
