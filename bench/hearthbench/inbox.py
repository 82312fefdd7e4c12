"""The inbox: its rate behind the kit's consumer at each batch size, alone on records in memory, and hop latency."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from hearth.contracts import Event
from hearth.kit.consumer import InboxConsumer
from hearth.kit.db import create_pool
from hearth.kit.dead_letters import ConsumedRecord
from hearth.kit.inbox import Inbox, Outcome
from hearth.kit.settings import kafka_client_options
from hearth.kit.testing.workers import EFFECTS_SQL, HANDLERS
from hearth.kit.uow import UnitOfWork

from .events import CONSUMER_SERVICE, SCREENED_TOPIC, SCREENED_TYPE, Events
from .harness import Bench
from .hop import hop_latency
from .inbox_db import inbox_db_rate
from .measure import CpuMeter, wait_until


async def inbox_section(b: Bench) -> None:
    prefix = await b.topics("inbox", dlq=True)
    events = Events(b.args.keys, b.run_id)
    n = b.sizes.inbox_events
    await b.attempt(
        [f"inbox.{x}" for x in b.args.inbox_batches], "inbox load", lambda: produce_events(b, prefix, events, n)
    )
    for batch in b.args.inbox_batches:
        for handler, suffix, what in (("each", "", ""), ("batched", ".run", ", batch handler")):
            if handler == "batched" and batch == 1:
                for key in (f"inbox.1{suffix}", f"inbox.1{suffix}.db"):
                    b.by_key[key].note = "not run: at batch 1 every run is of one event (the rows above)"
                continue
            through_kafka = functools.partial(inbox_rate, b, prefix, batch, handler)
            await b.attempt([f"inbox.{batch}{suffix}"], f"inbox batch {batch}{what}", through_kafka)
            alone = functools.partial(inbox_db_rate, b, events, batch, handler)
            await b.attempt([f"inbox.{batch}{suffix}.db"], f"inbox batch {batch}{what} without Kafka", alone)
        bare = functools.partial(inbox_db_rate, b, events, batch, "none")
        await b.attempt([f"inbox.{batch}.bare.db"], f"inbox batch {batch}, handler writing nothing", bare)
    for batch in b.args.inbox_batches:
        keys = [f"inbox.{batch}.lat.p50", f"inbox.{batch}.lat.p99"]
        await b.attempt(keys, f"hop latency batch {batch}", functools.partial(hop_latency, b, events, batch))


async def produce_events(b: Bench, prefix: str, events: Events, n: int) -> None:
    producer = AIOKafkaProducer(
        **kafka_client_options(), bootstrap_servers=b.bootstrap, enable_idempotence=True, acks="all", linger_ms=5
    )
    await producer.start()
    try:
        headers = [("content-type", Event.CONTENT_TYPE.encode())]
        topic = prefix + SCREENED_TOPIC
        futures = []
        for e in events.batch(0, n):
            futures.append(await producer.send(topic, value=e.to_json(), key=e.partitionkey.encode(), headers=headers))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    b.say(f"inbox: {n:,} events on {prefix + SCREENED_TOPIC}")


async def inbox_rate(b: Bench, prefix: str, batch: int, handler: str) -> None:
    """The kit's inbox behind its Kafka consumer in this process, from the first record to the cap; `handler`
    names the test worker's handler (`each`: one INSERT per event, `batched`: one per run)."""
    name = f"inbox{batch}{'' if handler == 'each' else handler}"
    dsn = await b.database(name, extra_sql=EFFECTS_SQL)
    pool = await create_pool(dsn, max_size=3)
    uow = UnitOfWork(pool, CONSUMER_SERVICE, topic_prefix=prefix)
    inbox = CountingInbox(uow, {SCREENED_TYPE: HANDLERS[handler]})
    consumer = InboxConsumer(
        inbox,
        b.bootstrap,
        group_id=f"bench-{b.run_id}-{name}",
        client=kafka_client_options(),
        batch_size=batch,
    )
    stop = asyncio.Event()
    running: asyncio.Task[None] | None = None
    n = b.sizes.inbox_events
    try:
        meter = CpuMeter()
        with b.profiled(f"inbox-{batch}{'' if handler == 'each' else '-run'}"):
            await consumer.start()
            running = asyncio.create_task(consumer.run(stop))
            end = time.monotonic() + b.sizes.inbox_seconds + 10  # group join and first fetch come first

            async def done() -> bool:
                first = await pool.fetchval("SELECT min(applied_at) FROM test_effects")
                capped = first is not None and time.time() - first.timestamp() > b.sizes.inbox_seconds
                count = await pool.fetchval("SELECT count(*) FROM test_effects")
                return bool(count >= n or capped or time.monotonic() > end)

            await wait_until(done, b.sizes.inbox_seconds + 60, "the inbox to settle the events", every=0.2)
            stop.set()
            await running
            await consumer.stop()
        wall, cpu = meter.stop()
        row = await pool.fetchrow(
            "SELECT count(*) AS n, count(DISTINCT event_id) AS d,"
            " extract(epoch FROM max(applied_at) - min(applied_at)) AS s FROM test_effects"
        )
    finally:
        stop.set()
        if running is not None:
            with contextlib.suppress(Exception):
                await running
        with contextlib.suppress(Exception):
            await consumer.stop()
        await pool.close()
    assert row is not None
    if row["n"] != row["d"]:
        raise RuntimeError(f"{row['n'] - row['d']} effects applied twice")
    if not row["n"] or not row["s"]:
        raise RuntimeError(f"only {row['n']} effects were applied")
    rate = (row["n"] - 1) / float(row["s"])
    mean = inbox.records / max(inbox.batches, 1)
    note = f"{row['n']:,} events, {mean:.1f} per batch on average; {meter.note(wall, cpu, row['n'])}"
    b.put(f"inbox.{batch}{'' if handler == 'each' else '.run'}", rate, note)


class CountingInbox(Inbox):
    """The kit's inbox, counting the batches the consumer hands it (to tell the batch size really reached)."""

    batches = 0
    records = 0

    async def handle_batch(self, records: Sequence[ConsumedRecord], *, keep_position: bool = True) -> Outcome:
        self.batches += 1
        self.records += len(records)
        return await super().handle_batch(records, keep_position=keep_position)
