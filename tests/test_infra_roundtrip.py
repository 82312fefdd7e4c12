"""The test infrastructure itself: a broker round trip over SASL_SSL, clients without valid credentials refused,
a Postgres query, the owner and runtime roles of each service database, isolation between service databases, and
a private broker and cluster that survive restarts with their data."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.security import BaseSecurity, SASLScram512

from hearth.kit.settings import KafkaSettings
from hearth.kit.testing import (
    CreateTopics,
    Infra,
    LocalInfra,
    UniqueName,
    create_topics,
    launcher,
    with_database,
)
from hearth.kit.testing.kafka import kafka_client_options

pytestmark = pytest.mark.infra

MESSAGES = 50
KEYS = 5


def _faststream_security(kafka_env: Mapping[str, str]) -> BaseSecurity | None:
    options = kafka_client_options(kafka_env)
    if not options["security_protocol"].startswith("SASL"):
        return None
    return SASLScram512(
        username=options["sasl_plain_username"],
        password=options["sasl_plain_password"],
        ssl_context=options.get("ssl_context"),
    )


async def test_kafka_round_trip_keeps_order_per_key(
    infra: Infra, kafka_topics: CreateTopics, unique_name: UniqueName
) -> None:
    # The session's admin settings are in the environment, where every client of the kit looks for them.
    assert os.environ["HEARTH_KAFKA_BOOTSTRAP"] == infra.kafka_bootstrap
    security = KafkaSettings().kafka_client_options()
    assert security["security_protocol"] == infra.kafka_env.get("HEARTH_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")

    (topic,) = await kafka_topics(unique_name("roundtrip"), partitions=3)
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.kafka_bootstrap, enable_idempotence=True, acks="all", **security
    )
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
    broker = KafkaBroker(infra.kafka_bootstrap, security=_faststream_security(infra.kafka_env))

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
    assert await _committed(infra, group) == MESSAGES, "every manual ack was committed"


async def _committed(infra: Infra, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap, **kafka_client_options(infra.kafka_env))
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(meta.offset for meta in offsets.values())


async def test_kafka_refuses_clients_without_valid_credentials(infra: Infra, request: pytest.FixtureRequest) -> None:
    kafka_env = dict(infra.kafka_env)
    if not kafka_env.get("HEARTH_KAFKA_SECURITY_PROTOCOL", "").startswith("SASL"):
        # Docker's broker has no authentication; the launcher's always has: check a private one.
        private: LocalInfra = request.getfixturevalue("private_infra")
        kafka_env = private.kafka_env()
    bootstrap = kafka_env["HEARTH_KAFKA_BOOTSTRAP"]
    valid = kafka_client_options(kafka_env)
    wrong_password = {**kafka_env, "HEARTH_KAFKA_PASSWORD": secrets.token_urlsafe(24)}
    unknown_user = {**kafka_env, "HEARTH_KAFKA_USERNAME": "nobody"}
    attempts: dict[str, dict[str, Any]] = {
        "plaintext, no credentials": {"security_protocol": "PLAINTEXT"},
        "TLS, no credentials": {"security_protocol": "SSL", "ssl_context": valid["ssl_context"]},
        "wrong password": kafka_client_options(wrong_password),
        "unknown user": kafka_client_options(unknown_user),
    }
    for attempt, options in attempts.items():
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=5000, **options)
        try:
            with pytest.raises(KafkaError):  # a hang would end in TimeoutError instead, and fail the test
                await asyncio.wait_for(producer.start(), 30)
        finally:
            await asyncio.wait_for(producer.stop(), 10)
        assert producer.client.cluster.brokers() == set(), f"{attempt}: the client learned about the cluster"

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **valid)  # the same broker takes the admin
    await asyncio.wait_for(producer.start(), 30)
    await producer.stop()


async def test_postgres_query_in_a_fresh_database(pg_database: str) -> None:
    conn = await asyncpg.connect(pg_database)
    try:
        await conn.execute("CREATE TABLE t (id int PRIMARY KEY, note text NOT NULL)")
        await conn.executemany("INSERT INTO t VALUES ($1, $2)", [(1, "a"), (2, "b")])
        assert await conn.fetchval("SELECT string_agg(note, ',' ORDER BY id) FROM t") == "a,b"
        assert (await conn.fetchval("SELECT current_database()")).startswith("t_")
    finally:
        await conn.close()


@dataclass(frozen=True)
class ServiceRoles:
    """Per database: the runtime role's DSN and the owner role's DSN."""

    runtime: Mapping[str, str]
    owner: Mapping[str, str]
    passwords_checked: bool  # whether pg_hba.conf makes passwords matter (the launcher's does)


@pytest.fixture
async def service_roles(infra: Infra, unique_name: UniqueName) -> AsyncIterator[ServiceRoles]:
    """The launcher's four service databases, or (Docker, or endpoints from the environment without them) two
    throwaway ones made with the launcher's own provisioning SQL, dropped afterwards."""
    if infra.service_dsns and infra.owner_dsns:
        yield ServiceRoles(infra.service_dsns, infra.owner_dsns, passwords_checked=True)
        return
    roles = [unique_name("t_role").replace("-", "_") for _ in range(2)]
    passwords = {role: (secrets.token_urlsafe(16), secrets.token_urlsafe(16)) for role in roles}
    admin_credentials = urlsplit(infra.pg_admin_dsn).netloc.rsplit("@", 1)[0]

    def dsn(user: str, password: str, database: str) -> str:
        return with_database(infra.pg_admin_dsn, database).replace(admin_credentials, f"{user}:{password}", 1)

    admin = await asyncpg.connect(infra.pg_admin_dsn)
    try:
        for role, (password, owner_password) in passwords.items():
            cluster, database = launcher.load().provision_sql(role, password, owner_password)
            for statement in cluster:
                await admin.execute(statement)
            conn = await asyncpg.connect(with_database(infra.pg_admin_dsn, role))
            try:
                for statement in database:
                    await conn.execute(statement)
            finally:
                await conn.close()
        yield ServiceRoles(
            {role: dsn(role, password, role) for role, (password, _) in passwords.items()},
            {role: dsn(f"{role}_owner", owner, role) for role, (_, owner) in passwords.items()},
            passwords_checked=False,  # its pg_hba may trust everyone
        )
    finally:
        for role in roles:
            await admin.execute(f'DROP DATABASE IF EXISTS "{role}" WITH (FORCE)')
            await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
            await admin.execute(f'DROP ROLE IF EXISTS "{role}_owner"')
        await admin.close()


async def test_each_service_reaches_only_its_own_database(service_roles: ServiceRoles) -> None:
    for dsns in (service_roles.runtime, service_roles.owner):
        for database, dsn in dsns.items():
            user = urlsplit(dsn).username
            conn = await asyncpg.connect(dsn)
            try:
                assert (
                    await conn.fetchval("SELECT current_user"),
                    await conn.fetchval("SELECT current_database()"),
                ) == (
                    user,
                    database,
                )
            finally:
                await conn.close()
            for other in dsns.keys() - {database}:
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await asyncpg.connect(with_database(dsn, other))
            if service_roles.passwords_checked:
                with pytest.raises(asyncpg.InvalidPasswordError):
                    await asyncpg.connect(dsn.replace(f"{user}:", f"{user}:wrong", 1))


async def test_the_runtime_role_uses_the_owners_tables_but_changes_no_schema(
    service_roles: ServiceRoles, unique_name: UniqueName
) -> None:
    table = unique_name("t_roles").replace("-", "_")
    for database, runtime_dsn in service_roles.runtime.items():
        owner = await asyncpg.connect(service_roles.owner[database])
        runtime = await asyncpg.connect(runtime_dsn)
        try:
            await owner.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, note text NOT NULL)")
            await owner.execute(f"CREATE INDEX ON {table} (note)")

            await runtime.execute(f"INSERT INTO {table} (note) VALUES ('a'), ('b')")  # the sequence too
            await runtime.execute(f"UPDATE {table} SET note = 'c' WHERE note = 'b'")
            await runtime.execute(f"DELETE FROM {table} WHERE note = 'a'")
            assert await runtime.fetchval(f"SELECT string_agg(note, ',') FROM {table}") == "c"

            refused = [
                f"CREATE TABLE {table}_x (id int)",
                f"CREATE TEMPORARY TABLE {table}_x (id int)",
                f"DROP TABLE {table}",
                f"ALTER TABLE {table} ADD COLUMN extra text",
                f"TRUNCATE {table}",
                f"CREATE INDEX ON {table} (id, note)",
                "CREATE SCHEMA sneaky",
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            ]
            for statement in refused:
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await runtime.execute(statement)
                    pytest.fail(f"{database}: the runtime role ran {statement!r}")
        finally:
            await runtime.close()
            try:
                await owner.execute(f"DROP TABLE IF EXISTS {table}")  # the owner may
            finally:
                await owner.close()


async def test_private_infra_is_idempotent_and_keeps_data_across_restarts(
    private_infra: LocalInfra, unique_name: UniqueName
) -> None:
    # During the test, the environment names the private broker, with its own credentials and CA.
    assert os.environ["HEARTH_KAFKA_BOOTSTRAP"] == private_infra.kafka_bootstrap
    assert os.environ["HEARTH_KAFKA_CA_FILE"] == str(private_infra.kafka_ca_file)
    security = kafka_client_options(private_infra.kafka_env())
    pids = (private_infra.kafka_pid(), private_infra.postgres_pid())
    assert await asyncio.to_thread(private_infra.up) is False, "up() on running infrastructure starts nothing"
    assert (private_infra.kafka_pid(), private_infra.postgres_pid()) == pids

    topic = unique_name("kept")
    await create_topics(private_infra.kafka_bootstrap, [topic], partitions=2, security=private_infra.kafka_env())
    producer = AIOKafkaProducer(bootstrap_servers=private_infra.kafka_bootstrap, acks="all", **security)
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

    # A restart keeps the SCRAM users and the certificate: the same settings still work.
    consumer = AIOKafkaConsumer(bootstrap_servers=private_infra.kafka_bootstrap, **security)
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
