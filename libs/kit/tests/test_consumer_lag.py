"""`hearth_consumer_lag{service,topic,partition}`: what Kafka holds past the consumer's position, shown as soon
as a partition is positioned, drained to 0 as batches settle, and gone once the partition is not assigned."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY

from hearth.contracts import spec_for, topic_for
from hearth.contracts.events.screening import Screened
from hearth.kit.consumer import InboxConsumer
from hearth.kit.inbox import Inbox
from hearth.kit.settings import kafka_client_options
from hearth.kit.testing.helpers import produce, screened_event, wait_for
from hearth.kit.testing.workers import on_screened
from hearth.kit.topics import ensure_topics
from hearth.kit.tx import Tx
from hearth.kit.uow import UnitOfWork

N = 120


def lag(service: str, topic: str, partition: int) -> float | None:
    return REGISTRY.get_sample_value(
        "hearth_consumer_lag", {"service": service, "topic": topic, "partition": str(partition)}
    )


async def test_the_lag_shows_the_backlog_then_drains_to_zero(infra, pool, unique_name):
    prefix = unique_name("lag") + "."
    topic = prefix + topic_for(Screened)
    service = prefix + "followup"  # a service name of its own: the registry is shared by the whole test session
    await ensure_topics(infra.kafka_bootstrap, [topic], partitions=2)
    events = [screened_event(f"pt-{i}") for i in range(N)]
    await produce(infra.kafka_bootstrap, [(topic, e.partitionkey.encode(), e.to_json()) for e in events])

    held = asyncio.Event()

    async def slow_until_released(event, tx: Tx) -> None:
        await held.wait()  # nothing settles before the test has seen the whole backlog
        await on_screened(event, tx)

    inbox = Inbox(UnitOfWork(pool, service, topic_prefix=prefix), {spec_for(Screened).type: slow_until_released})
    consumer = InboxConsumer(
        inbox, infra.kafka_bootstrap, group_id=service, client=kafka_client_options(), batch_size=10, lag_interval=0.5
    )
    await consumer.start()
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop))
    try:

        async def backlog() -> float | None:
            values = [lag(service, topic, p) for p in (0, 1)]
            return None if None in values else sum(v for v in values if v is not None)

        assert await wait_for(backlog, timeout=60, what="the lag of both partitions") == N
        held.set()

        async def drained() -> bool:
            return await backlog() == 0

        await wait_for(drained, timeout=120, what="the lag to drain")
        assert await pool.fetchval("SELECT count(*) FROM test_effects") == N

        # Produced while idle: no batch settles yet the interval's refresh shows it (the handler is held again).
        held.clear()
        more = [screened_event(f"pt-more-{i}") for i in range(7)]
        await produce(infra.kafka_bootstrap, [(topic, e.partitionkey.encode(), e.to_json()) for e in more])

        async def seven() -> bool:
            return await backlog() == 7

        await wait_for(seven, timeout=60, what="the lag of records produced while idle")
        held.set()
        await wait_for(drained, timeout=60, what="the lag to drain again")
    finally:
        held.set()
        stop.set()
        await running
        await consumer.stop()
    # No longer assigned: no figure left behind to page anyone.
    assert lag(service, topic, 0) is None and lag(service, topic, 1) is None


async def test_a_partition_taken_by_another_member_leaves_this_members_gauge(infra, pool, unique_name):
    prefix = unique_name("lagmove") + "."
    topic = prefix + topic_for(Screened)
    group = prefix + "followup"
    await ensure_topics(infra.kafka_bootstrap, [topic], partitions=2)
    # Two members of one group; each reports under a name of its own so the test can tell their figures apart.
    members = []
    for name in ("first", "second"):
        inbox = Inbox(UnitOfWork(pool, prefix + name, topic_prefix=prefix), {spec_for(Screened).type: on_screened})
        members.append(
            (prefix + name, InboxConsumer(inbox, infra.kafka_bootstrap, group_id=group, client=kafka_client_options()))
        )
    stop = asyncio.Event()
    running = []
    try:
        (first, consumer), (second, other) = members
        await consumer.start()
        running.append(asyncio.create_task(consumer.run(stop)))

        async def first_has_both() -> bool:
            return lag(first, topic, 0) == 0 and lag(first, topic, 1) == 0

        await wait_for(first_has_both, timeout=60, what="the first member's lag on both partitions")
        await other.start()
        running.append(asyncio.create_task(other.run(stop)))

        async def split() -> bool:
            mine = {p for p in (0, 1) if lag(first, topic, p) is not None}
            theirs = {p for p in (0, 1) if lag(second, topic, p) is not None}
            return len(mine) == 1 and len(theirs) == 1 and not mine & theirs

        await wait_for(split, timeout=120, what="one partition each, each reported by its holder only")
    finally:
        stop.set()
        await asyncio.gather(*running)
        for _, c in members:
            await c.stop()
