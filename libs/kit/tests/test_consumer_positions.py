"""Consumer positions live in the service's database: the consumer starts where its database says, and refuses to
start — naming topic, partition and the missing offsets — when Kafka no longer holds the records between that
position and its earliest offset; `hearth db position` shows the same gap."""

from __future__ import annotations

import asyncio
import os

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete

from hearth.contracts import spec_for, topic_for
from hearth.contracts.events.screening import Screened
from hearth.kit import positions
from hearth.kit.cli import main as hearth
from hearth.kit.consumer import InboxConsumer
from hearth.kit.inbox import Inbox
from hearth.kit.positions import PositionGapError
from hearth.kit.settings import kafka_client_options
from hearth.kit.testing.helpers import produce, screened_event, wait_for
from hearth.kit.testing.workers import on_screened
from hearth.kit.topics import ensure_topics
from hearth.kit.uow import UnitOfWork


async def _consume_until(inbox: Inbox, bootstrap: str, group: str, pool, applied: int) -> None:
    consumer = InboxConsumer(inbox, bootstrap, group_id=group, client=kafka_client_options(), batch_size=50)
    await consumer.start()
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop))
    try:

        async def enough() -> bool:
            return await pool.fetchval("SELECT count(*) FROM test_effects") >= applied

        await wait_for(enough, timeout=60, what=f"{applied} effects")
    finally:
        stop.set()
        await running
        await consumer.stop()


async def test_the_database_position_counts_and_a_gap_refuses_to_start(infra, pool, kit_dsn, unique_name, capsys):
    prefix = unique_name("pos") + "."
    topic = prefix + topic_for(Screened)
    group = prefix + "followup"
    await ensure_topics(infra.kafka_bootstrap, [topic], partitions=1)
    first = [screened_event(f"pt-{i}") for i in range(10)]
    await produce(infra.kafka_bootstrap, [(topic, e.partitionkey.encode(), e.to_json()) for e in first])
    inbox = Inbox(UnitOfWork(pool, "followup", topic_prefix=prefix), {spec_for(Screened).type: on_screened})
    await _consume_until(inbox, infra.kafka_bootstrap, group, pool, 10)
    async with pool.acquire() as conn:
        assert await positions.load(conn, "followup") == {(topic, 0): 10}

    # A backup restored from before the last five: the consumer rewinds to the database and re-reads them.
    async with pool.acquire() as conn:
        await positions.set_position(conn, "followup", topic, 0, 5)
    await pool.execute("DELETE FROM test_effects")
    await pool.execute("DELETE FROM hearth_inbox WHERE kafka_offset >= 5")
    await _consume_until(inbox, infra.kafka_bootstrap, group, pool, 5)
    assert await pool.fetchval("SELECT count(*) FROM test_effects") == 5, "the rewind applied the wrong records"

    # More records, then retention deletes up to offset 15 while the database still says 10: a gap.
    more = [screened_event(f"pt-more-{i}") for i in range(10)]
    await produce(infra.kafka_bootstrap, [(topic, e.partitionkey.encode(), e.to_json()) for e in more])
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap, **kafka_client_options())
    await admin.start()
    try:
        await admin.delete_records({TopicPartition(topic, 0): RecordsToDelete(before_offset=15)})
    finally:
        await admin.close()
    consumer = InboxConsumer(inbox, infra.kafka_bootstrap, group_id=group, client=kafka_client_options())
    with pytest.raises(PositionGapError) as refused:
        await consumer.start()
    message = str(refused.value)
    assert f"{topic}[0]: offsets 10..14 were deleted by retention" in message
    assert "--set-earliest" in message

    os.environ["HEARTH_DATABASE_URL"] = kit_dsn
    os.environ["HEARTH_TOPIC_PREFIX"] = prefix
    try:
        code = await asyncio.to_thread(_cli, ["db", "position", "followup"])
        shown = capsys.readouterr().out
        assert code == 1 and "GAP" in shown and "offsets 10..14" in shown
        code = await asyncio.to_thread(_cli, ["db", "position", "followup", "--set-earliest", f"{topic}:0"])
        assert code == 0, capsys.readouterr().out
    finally:
        del os.environ["HEARTH_DATABASE_URL"], os.environ["HEARTH_TOPIC_PREFIX"]
    await consumer.start()  # the loss accepted by an operator: it starts, at 15
    await consumer.stop()
    async with pool.acquire() as conn:
        assert await positions.load(conn, "followup") == {(topic, 0): 15}


def _cli(argv: list[str]) -> int:
    try:
        hearth(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0
