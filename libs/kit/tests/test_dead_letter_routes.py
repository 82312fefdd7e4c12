"""Dead letters over HTTP, in a running service: listed and replayed by ops only; a replay re-processes the copy
the service stored, inside it — nothing goes back on the origin topic — and a letter someone wrote straight onto
the DLQ topic, whatever its origin headers say, cannot be replayed."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from hearth.contracts import dlq_topic, spec_for, topic_for
from hearth.contracts.events.screening import Screened
from hearth.kit import audit_keys, migrations
from hearth.kit import dead_letters as dl
from hearth.kit.app import create_app
from hearth.kit.auth import AuthSettings, Role, mint_token
from hearth.kit.service import ServiceDefinition
from hearth.kit.settings import KitSettings, kafka_client_options
from hearth.kit.testing import postgres
from hearth.kit.testing.helpers import produce, screened_event, wait_for
from hearth.kit.testing.workers import EFFECTS_SQL, on_screened
from hearth.kit.topics import ensure_topics

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
AUTH = AuthSettings(jwt_secret=SECRET)
BROKEN = {"on": True}


async def fails_while_broken(event, tx) -> None:
    if BROKEN["on"]:
        raise RuntimeError("a handler bug, fixed by the next deploy")
    await on_screened(event, tx)


@pytest.fixture
async def service(infra, unique_name) -> AsyncIterator[tuple[httpx.AsyncClient, str, str]]:
    prefix = unique_name("dlh") + "."
    await ensure_topics(
        infra.kafka_bootstrap, [prefix + topic_for(Screened), prefix + dlq_topic("followup")], partitions=1
    )
    dsn = await postgres.create_database(infra.pg_admin_dsn)
    conn = await asyncpg.connect(dsn)
    await migrations.migrate(conn, migrations.kit_migrations())
    await conn.execute(EFFECTS_SQL)
    await conn.close()
    settings = KitSettings(
        database_url=dsn,
        kafka_bootstrap=infra.kafka_bootstrap,
        topic_prefix=prefix,
        jwt_secret=SECRET,
        idempotency_secret="an-idempotency-key-that-is-32-bytes-or-more",
        audit_signing_key=audit_keys.encode_private(audit_keys.generate()),
        master_key=base64.b64encode(os.urandom(32)).decode(),
        consumer_max_attempts=1,
        outbox_sweep_seconds=0.2,
    )
    definition = ServiceDefinition(name="followup", title="probe", events={spec_for(Screened).type: fails_while_broken})
    app = create_app(definition, settings)
    BROKEN["on"] = True
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        yield client, dsn, prefix
    await postgres.drop_database(infra.pg_admin_dsn, dsn)


def _as(role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(AUTH, 'ops-1', role)}"}


async def test_replay_happens_in_the_service_and_cannot_be_steered(service, infra):
    client, dsn, prefix = service
    topic = prefix + topic_for(Screened)
    event = screened_event("pt-replay-1")
    await produce(infra.kafka_bootstrap, [(topic, b"pt-replay-1", event.to_json()), (topic, b"pt-x", b"{nope")])

    async def two_letters() -> list | None:
        listed = (await client.get("/dead-letters", headers=_as(Role.OPS))).json()
        return listed if len(listed) == 2 and all(x["published_at"] for x in listed) else None

    letters = await wait_for(two_letters, timeout=60, what="both records to be dead-lettered and published")
    by_reason = {x["reason"]: x for x in letters}
    assert set(by_reason) == {"handler_failed", "contract"}
    assert (await client.get("/dead-letters", headers=_as(Role.CLINICIAN))).status_code == 403

    # A forged letter on the DLQ topic naming the origin topic: not the service's, so not replayable.
    forged = [(dl.ORIGIN_TOPIC, topic.encode()), (dl.LETTER_ID, b"999999")]
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, **kafka_client_options())
    await producer.start()
    try:
        await producer.send_and_wait(prefix + dlq_topic("followup"), event.to_json(), key=b"pt", headers=forged)
    finally:
        await producer.stop()
    refused = await client.post("/dead-letters/replay", json={"ids": [999999]}, headers=_as(Role.OPS))
    assert refused.status_code == 404
    too_big = await client.post("/dead-letters/replay", json={"ids": [2**63]}, headers=_as(Role.OPS))
    assert too_big.status_code == 422, too_big.text  # not a 500 from the database

    ends_before = await _end_offset(infra, topic)
    BROKEN["on"] = False  # the fix is deployed
    answer = await client.post(
        "/dead-letters/replay", json={"ids": [by_reason["handler_failed"]["id"]]}, headers=_as(Role.OPS)
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == [{"id": by_reason["handler_failed"]["id"], "outcome": "applied"}]
    again = await client.post("/dead-letters/replay", json={"all": True}, headers=_as(Role.OPS))
    assert [x["outcome"] for x in again.json()] == ["dead_lettered: contract"]  # the one not replayed yet
    assert await _end_offset(infra, topic) == ends_before, "a replay re-published to the origin topic"
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM test_effects") == 1
    finally:
        await conn.close()


async def _end_offset(infra, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=infra.kafka_bootstrap, **kafka_client_options())
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, 0)])
        return int(next(iter(ends.values())))
    finally:
        await consumer.stop()


def test_the_replay_command_says_what_is_missing_without_a_traceback(capsys, monkeypatch):
    from hearth.kit.cli import main as hearth

    monkeypatch.delenv("HEARTH_TOKEN", raising=False)
    with pytest.raises(SystemExit) as no_token:
        hearth(["dlq", "replay", "followup", "7", "--url", "http://127.0.0.1:9"])
    assert no_token.value.code == 2 and "HEARTH_TOKEN" in capsys.readouterr().out
    with pytest.raises(SystemExit) as unreachable:
        hearth(["dlq", "replay", "followup", "7", "--url", "http://127.0.0.1:9", "--token", "t"])
    assert unreachable.value.code == 1 and "cannot reach followup at http://127.0.0.1:9" in capsys.readouterr().out
