"""A record whose header key is not UTF-8 made aiokafka raise inside `getmany` on every call: its partition was
stuck for good.  The consumer now letters the batch it cannot unpack and goes on with the records behind it."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer
from aiokafka.producer import message_accumulator
from aiokafka.producer import producer as producer_module
from aiokafka.record.default_records import _DefaultRecordBatchBuilderPy

from hearth.contracts import spec_for, topic_for
from hearth.contracts.events.screening import Screened
from hearth.kit.consumer import InboxConsumer
from hearth.kit.inbox import Inbox
from hearth.kit.settings import kafka_client_options
from hearth.kit.testing.helpers import produce, screened_event, wait_for
from hearth.kit.testing.hostile import RawKey
from hearth.kit.testing.workers import on_screened
from hearth.kit.topics import ensure_topics
from hearth.kit.uow import UnitOfWork


async def _send_with_raw_header_key(bootstrap: str, topic: str, value: bytes) -> None:
    patched = (message_accumulator, producer_module)
    saved = [m.DefaultRecordBatchBuilder for m in patched]
    for m in patched:
        m.DefaultRecordBatchBuilder = _DefaultRecordBatchBuilderPy  # writes keys through `encode`
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **kafka_client_options())
    try:
        await producer.start()
        await producer.send_and_wait(topic, value, key=b"pt", headers=[(RawKey("x"), b"1")])
    finally:
        await producer.stop()
        for m, builder in zip(patched, saved, strict=True):
            m.DefaultRecordBatchBuilder = builder


async def test_a_batch_that_cannot_be_unpacked_is_lettered_and_the_partition_flows(infra, pool, unique_name):
    prefix = unique_name("unr") + "."
    topic = prefix + topic_for(Screened)
    await ensure_topics(infra.kafka_bootstrap, [topic], partitions=1)
    before, after = screened_event("pt-1"), screened_event("pt-1")
    await produce(infra.kafka_bootstrap, [(topic, b"pt", before.to_json())])
    await _send_with_raw_header_key(infra.kafka_bootstrap, topic, screened_event("pt-1").to_json())
    await produce(infra.kafka_bootstrap, [(topic, b"pt", after.to_json())])

    inbox = Inbox(UnitOfWork(pool, "followup", topic_prefix=prefix), {spec_for(Screened).type: on_screened})
    consumer = InboxConsumer(inbox, infra.kafka_bootstrap, group_id=prefix + "followup", client=kafka_client_options())
    await consumer.start()
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop))
    try:

        async def settled() -> bool:
            return await pool.fetchval("SELECT next_offset FROM hearth_consumer_positions") == 3

        await wait_for(settled, timeout=30, what="the partition to flow past the unreadable batch")
    finally:
        stop.set()
        await running
        await consumer.stop()
    applied = {r[0] for r in await pool.fetch("SELECT event_id::text FROM test_effects")}
    assert applied == {str(before.id), str(after.id)}
    letter = await pool.fetchrow("SELECT origin_offset, reason, error FROM hearth_dead_letters")
    assert letter["origin_offset"] == 1 and letter["reason"] == "contract"
    assert "unreadable record batch (offsets 1..1)" in letter["error"]
