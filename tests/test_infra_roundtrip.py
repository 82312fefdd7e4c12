"""The test infrastructure itself: a broker round trip, a Postgres query, isolation between service databases,
and a private broker and cluster that survive restarts with their data."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import defaultdict
from collections.abc import Mapping
from urllib.parse import urlsplit

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage

from hearth.kit.testing import (
    CreateTopics,
    Infra,
    LocalInfra,
    UniqueName,
    create_topics,
    launcher,
    with_database,
)

pytestmark = pytest.mark.infra

MESSAGES = 50
KEYS = 5


async def test_kafka_round_trip_keeps_order_per_key(
    infra: Infra, kafka_topics: CreateTopics, unique_name: UniqueName
) -> None:
    (topic,) = await kafka_topics(unique_name("roundtrip"), partitions=3)
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        sent = [
            await producer.send(topic, json.dumps({"seq": i}).encode(), key=f"patient-{i % KEYS}".encode())
            for i in range(MESSAGES)
        ]
        partitions = {(await delivery).partition for delivery in sent}
    finally:
        await asyncio.wait_for(producer.stop(), 10)
    assert len(partitions) > 1, "five keys over three partitions should land on more than one"

    received: dict[str, list[int]] = defaultdict(list)
    done = asyncio.Event()
    group = unique_name("group")
    broker = KafkaBroker(infra.kafka_bootstrap)

    @broker.subscriber(topic, group_id=group, auto_offset_reset="earliest", ack_policy=AckPolicy.MANUAL)
    async def handle(body: dict[str, int], msg: KafkaMessage) -> None:
        record = msg.raw_message
        assert isinstance(record, ConsumerRecord)
        received[record.key.decode()].append(body["seq"])
        await msg.ack()
        if sum(map(len, received.values())) == MESSAGES:
            done.set()

    async with broker:
        await broker.start()
        await asyncio.wait_for(done.wait(), 60)

    assert sorted(received) == [f"patient-{k}" for k in range(KEYS)]
    for key, values in received.items():
        assert values == [i for i in range(MESSAGES) if f"patient-{i % KEYS}" == key], f"{key} out of order"
    assert await _committed(infra.kafka_bootstrap, group) == MESSAGES, "every manual ack was committed"


async def _committed(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(meta.offset for meta in offsets.values())


async def test_postgres_query_in_a_fresh_database(pg_database: str) -> None:
    conn = await asyncpg.connect(pg_database)
    try:
        await conn.execute("CREATE TABLE t (id int PRIMARY KEY, note text NOT NULL)")
        await conn.executemany("INSERT INTO t VALUES ($1, $2)", [(1, "a"), (2, "b")])
        assert await conn.fetchval("SELECT string_agg(note, ',' ORDER BY id) FROM t") == "a,b"
        assert (await conn.fetchval("SELECT current_database()")).startswith("t_")
    finally:
        await conn.close()


async def test_each_service_reaches_only_its_own_database(infra: Infra, unique_name: UniqueName) -> None:
    if infra.service_dsns:  # the launcher made one role and one database per service
        await _assert_isolated(infra.service_dsns, check_password=True)
        return
    # Docker, or endpoints from the environment: no service roles there, so make throwaway ones with the
    # launcher's own SQL and check the same thing.
    roles = {unique_name("t_role").replace("-", "_"): secrets.token_urlsafe(16) for _ in range(2)}
    admin_credentials = urlsplit(infra.pg_admin_dsn).netloc.rsplit("@", 1)[0]
    admin = await asyncpg.connect(infra.pg_admin_dsn)
    try:
        for role, password in roles.items():
            for statement in launcher.load().provision_sql(role, password).strip().splitlines():
                await admin.execute(statement)
        dsns = {
            role: with_database(infra.pg_admin_dsn, role).replace(admin_credentials, f"{role}:{password}", 1)
            for role, password in roles.items()
        }
        await _assert_isolated(dsns, check_password=False)  # its pg_hba may trust everyone
    finally:
        for role in roles:
            await admin.execute(f'DROP DATABASE IF EXISTS "{role}" WITH (FORCE)')
            await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()


async def _assert_isolated(dsns: Mapping[str, str], *, check_password: bool) -> None:
    for role, dsn in dsns.items():
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("SELECT current_user") == role
        finally:
            await conn.close()
        for other in dsns.keys() - {role}:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await asyncpg.connect(with_database(dsn, other))
        if check_password:
            with pytest.raises(asyncpg.InvalidPasswordError):
                await asyncpg.connect(dsn.replace(f"{role}:", f"{role}:wrong", 1))


async def test_private_infra_is_idempotent_and_keeps_data_across_restarts(
    private_infra: LocalInfra, unique_name: UniqueName
) -> None:
    pids = (private_infra.kafka_pid(), private_infra.postgres_pid())
    assert await asyncio.to_thread(private_infra.up) is False, "up() on running infrastructure starts nothing"
    assert (private_infra.kafka_pid(), private_infra.postgres_pid()) == pids

    topic = unique_name("kept")
    await create_topics(private_infra.kafka_bootstrap, [topic], partitions=2)
    producer = AIOKafkaProducer(bootstrap_servers=private_infra.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"before the restart", partition=1)
    finally:
        await producer.stop()
    conn = await asyncpg.connect(private_infra.pg_admin_dsn)
    try:
        await conn.execute("CREATE TABLE kept (note text)")
        await conn.execute("INSERT INTO kept VALUES ('before the restart')")
    finally:
        await conn.close()

    assert await asyncio.to_thread(private_infra.stop_kafka) is True
    assert await asyncio.to_thread(private_infra.stop_postgres, hard=True) is True
    assert (private_infra.kafka_pid(), private_infra.postgres_pid()) == (None, None)
    assert await asyncio.to_thread(private_infra.start_kafka) is True
    assert await asyncio.to_thread(private_infra.start_postgres) is True

    consumer = AIOKafkaConsumer(bootstrap_servers=private_infra.kafka_bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, 0), TopicPartition(topic, 1)])
    finally:
        await consumer.stop()
    assert (ends[TopicPartition(topic, 0)], ends[TopicPartition(topic, 1)]) == (0, 1)
    conn = await asyncpg.connect(private_infra.pg_admin_dsn)
    try:
        assert await conn.fetchval("SELECT note FROM kept") == "before the restart"
    finally:
        await conn.close()
