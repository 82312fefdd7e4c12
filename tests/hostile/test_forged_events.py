"""A compromised service writes forged facts onto the topics its own principal may write — the two forgeries that
once worked — and the services as processes refuse them: lettered `wrong_topic` / `wrong_source`, no effect.

- As `User:session`: an `approved` event (screening's) on session's own `session-started` topic made
  fulfillment open an order.
- As `User:fulfillment`: a forged `approved` on fulfillment's `box-delivered` topic, next to a real-looking
  `box-delivered`, let session treat a patient as approved.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from hearth.contracts import build_event, topic_for
from hearth.contracts.events.fulfillment import BoxDelivered
from hearth.contracts.events.screening import Approved
from hearth.contracts.events.session import SessionStarted
from hearth.journey.timings import Timings
from hearth.kit.settings import KafkaSettings
from hearth.kit.testing.helpers import wait_for


def _options(env: Mapping[str, str]) -> dict[str, Any]:
    fields = {k.removeprefix("HEARTH_").lower(): v for k, v in env.items() if k.startswith("HEARTH_KAFKA_")}
    return KafkaSettings(**fields).kafka_client_options()


async def _produce_as(bootstrap: str, env: Mapping[str, str], records: list[tuple[str, bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", **_options(env))
    await asyncio.wait_for(producer.start(), 15)
    try:
        for topic, key, value in records:
            await asyncio.wait_for(producer.send_and_wait(topic, value, key=key), 15)
    finally:
        await asyncio.wait_for(producer.stop(), 15)


async def _letters(dsn: str, consumer: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT origin_topic, reason FROM hearth_dead_letters WHERE consumer = $1", consumer)
    finally:
        await conn.close()
    return sorted((r["origin_topic"], r["reason"]) for r in rows)


async def _count(dsn: str, sql: str, *args: Any) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def test_a_service_principal_cannot_forge_another_services_facts(journey, infra):
    if not infra.kafka_service_env:
        pytest.fail("the broker has no per-service credentials: this test needs the secured local broker")
    async with journey(Timings()) as run:
        prefix, dsns = run.stack.prefix, run.stack.dsns
        approval = build_event(Approved.example(), subject="pt-forged-1")
        # The envelope says screening, the topic is session's own: only the topic gives the forgery away.
        as_session = [(prefix + topic_for(SessionStarted), b"pt-forged-1", approval.to_json())]
        await _produce_as(infra.kafka_bootstrap, infra.kafka_service_env["session"], as_session)
        forged = build_event(Approved.example(), subject="pt-forged-2")
        delivered = build_event(BoxDelivered.example(), subject="pt-forged-2")
        # On its own topic with screening's name forged into `source`: the source gives it away.
        wrong_source = json.loads(build_event(BoxDelivered.example(), subject="pt-forged-3").to_json())
        wrong_source["source"] = "/hearth/screening"
        as_fulfillment = [
            (prefix + topic_for(BoxDelivered), b"pt-forged-2", forged.to_json()),
            (prefix + topic_for(BoxDelivered), b"pt-forged-2", delivered.to_json()),
            (prefix + topic_for(BoxDelivered), b"pt-forged-3", json.dumps(wrong_source).encode()),
        ]
        await _produce_as(infra.kafka_bootstrap, infra.kafka_service_env["fulfillment"], as_fulfillment)

        async def refused() -> bool:
            fulfillment = await _letters(dsns["fulfillment"], "fulfillment")
            session = await _letters(dsns["session"], "session")
            delivered_topic = prefix + topic_for(BoxDelivered)
            return fulfillment == [(prefix + topic_for(SessionStarted), "wrong_topic")] and session == [
                (delivered_topic, "wrong_source"),
                (delivered_topic, "wrong_topic"),
            ]

        await wait_for(refused, timeout=60, what="both forgeries to be dead-lettered")
        inbox = "SELECT count(*) FROM hearth_inbox WHERE event_id = $1::uuid"
        assert await _count(dsns["fulfillment"], inbox, str(approval.id)) == 0
        assert await _count(dsns["session"], inbox, str(forged.id)) == 0
        assert await _count(dsns["fulfillment"], "SELECT count(*) FROM orders") == 0, (
            "a forged approval opened an order"
        )
        # The genuine-looking delivery is applied (it is fulfillment's own fact); without screening's approval it
        # gives session nothing to start.
        assert await _count(dsns["session"], inbox, str(delivered.id)) == 1
