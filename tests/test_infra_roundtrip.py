"""The test infrastructure itself: a real broker round trip, a real Postgres query, isolation between services."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import defaultdict
from collections.abc import Mapping
from urllib.parse import urlsplit

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
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
        sends = [
            await producer.send(
                topic, value=json.dumps({"seq": i}).encode(), key=f"patient-{i % KEYS}".encode()
            )
            for i in range(MESSAGES)
        ]
        partitions = {(await sent).partition for sent in sends}
    finally:
        await asyncio.wait_for(producer.stop(), 10)
    assert len(partitions) > 1, "five keys over three partitions should use more than one"

    received: dict[str, list[int]] = defaultdict(list)
    done = asyncio.Event()
    broker = KafkaBroker(infra.kafka_bootstrap)

    @broker.subscriber(
        topic, group_id=unique_name("group"), auto_offset_reset="earliest", ack_policy=AckPolicy.MANUAL
    )
    async def handle(body: dict[str, int], msg: KafkaMessage) -> None:
        received[msg.raw_message.key.decode()].append(body["seq"])
        await msg.ack()
        if sum(map(len, received.values())) == MESSAGES:
            done.set()

    async with broker:
        await broker.start()
        await asyncio.wait_for(done.wait(), 60)

    assert sorted(received) == [f"patient-{k}" for k in range(KEYS)]
    for key, values in received.items():
        sent = [i for i in range(MESSAGES) if f"patient-{i % KEYS}" == key]
        assert values == sent, f"{key} arrived out of order"


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
    if infra.service_dsns:  # the local launcher created one role and database per service
        await _assert_isolated(infra.service_dsns, check_password=True)
        return
    # Docker or endpoints from the environment: no service roles there, so create throwaway ones with the
    # launcher's own SQL and check the same thing.
    script = launcher.load()
    names = [unique_name("t_role").replace("-", "_") for _ in range(2)]
    passwords = [secrets.token_urlsafe(16) for _ in names]
    admin = await asyncpg.connect(infra.pg_admin_dsn)
    try:
        for name, password in zip(names, passwords, strict=True):
            for statement in script.provision_sql(name, password).strip().splitlines():
                await admin.execute(statement)
        dsns = {
            name: with_database(infra.pg_admin_dsn, name).replace(
                urlsplit(infra.pg_admin_dsn).netloc.rsplit("@", 1)[0], f"{name}:{password}"
            )
            for name, password in zip(names, passwords, strict=True)
        }
        await _assert_isolated(dsns, check_password=False)  # unknown pg_hba: the password may not be checked
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.execute(f'DROP ROLE IF EXISTS "{name}"')
        await admin.close()


async def _assert_isolated(dsns: Mapping[str, str], *, check_password: bool) -> None:
    for role, dsn in dsns.items():
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("SELECT current_user") == role
        finally:
            await conn.close()
        for other in dsns:
            if other != role:
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await asyncpg.connect(with_database(dsn, other))
        if check_password:
            with pytest.raises(asyncpg.InvalidPasswordError):
                await asyncpg.connect(dsn.replace(f"{role}:", f"{role}:wrong", 1))


async def test_private_infra_is_idempotent_and_restarts_keep_data(
    private_infra: LocalInfra, unique_name: UniqueName
) -> None:
    pids = (private_infra.kafka_pid(), private_infra.postgres_pid())
    assert await asyncio.to_thread(private_infra.up) is False, "up() on running infrastructure starts nothing"
    assert (private_infra.kafka_pid(), private_infra.postgres_pid()) == pids

    topic = unique_name("kept")
    await create_topics(private_infra.kafka_bootstrap, [topic], partitions=2)
    admin = await asyncpg.connect(private_infra.pg_admin_dsn)
    try:
        await admin.execute("CREATE TABLE kept (note text)")
        await admin.execute("INSERT INTO kept VALUES ('still here')")
    finally:
        await admin.close()

    assert await asyncio.to_thread(private_infra.stop_kafka) is True
    assert private_infra.kafka_pid() is None
    assert await asyncio.to_thread(private_infra.stop_postgres, hard=True) is True
    assert private_infra.postgres_pid() is None
    assert await asyncio.to_thread(private_infra.start_kafka) is True
    assert await asyncio.to_thread(private_infra.start_postgres) is True

    admin_client = AIOKafkaAdminClient(bootstrap_servers=private_infra.kafka_bootstrap)
    await admin_client.start()
    try:
        (described,) = await admin_client.describe_topics([topic])
        assert described["error_code"] == 0 and len(described["partitions"]) == 2
    finally:
        await admin_client.close()
    conn = await asyncpg.connect(private_infra.pg_admin_dsn)
    try:
        assert await conn.fetchval("SELECT note FROM kept") == "still here"
    finally:
        await conn.close()
