"""Kafka authorisation as the services run it: each principal writes only its own topics and uses only its own
consumer groups (ACLs derived from the catalog); no credentials or a wrong password cannot use the broker."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError

from hearth.contracts import topic_for
from hearth.contracts.events.fulfillment import BoxShipped
from hearth.contracts.events.screening import Screened
from hearth.kit.acls import apply_acls, catalog_acls
from hearth.kit.settings import KafkaSettings, kafka_client_options
from hearth.kit.testing import leftovers
from hearth.kit.topics import catalog_topics, ensure_topics


def options_of(env: Mapping[str, str], **changes: Any) -> dict[str, Any]:
    fields = {k.removeprefix("HEARTH_").lower(): v for k, v in env.items() if k.startswith("HEARTH_KAFKA_")}
    return KafkaSettings(**(fields | changes)).kafka_client_options()


@pytest.fixture
async def acl_prefix(infra, unique_name) -> str:
    if not infra.kafka_service_env:
        pytest.fail("the broker has no per-service credentials: security tests need the secured local broker")
    prefix = unique_name("acl") + "."
    leftovers.remember(infra.kafka_bootstrap, prefix, acls=True)
    await ensure_topics(infra.kafka_bootstrap, catalog_topics(prefix), partitions=1)
    await apply_acls(infra.kafka_bootstrap, catalog_acls(prefix), kafka_client_options())
    return prefix


async def _produce(bootstrap: str, topic: str, options: dict[str, Any]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", request_timeout_ms=5000, **options
    )
    await asyncio.wait_for(producer.start(), 15)
    try:
        await asyncio.wait_for(producer.send_and_wait(topic, b"{}", key=b"pt-acl"), 15)
    finally:
        await asyncio.wait_for(producer.stop(), 15)


async def test_screening_writes_its_own_topics_only(infra, acl_prefix):
    screening = options_of(infra.kafka_service_env["screening"])
    await _produce(infra.kafka_bootstrap, acl_prefix + topic_for(Screened.event_type), screening)
    with pytest.raises(KafkaError) as refused:
        await _produce(infra.kafka_bootstrap, acl_prefix + topic_for(BoxShipped.event_type), screening)
    assert "Authorization" in type(refused.value).__name__ or "authoriz" in str(refused.value).lower()


async def test_screening_cannot_join_fulfillments_consumer_group(infra, acl_prefix):
    screening = options_of(infra.kafka_service_env["screening"])
    consumer = AIOKafkaConsumer(
        acl_prefix + topic_for(Screened.event_type),
        bootstrap_servers=infra.kafka_bootstrap,
        group_id=acl_prefix + "fulfillment",
        **screening,
    )
    try:
        with pytest.raises(KafkaError) as refused:
            await asyncio.wait_for(consumer.start(), 20)
            await asyncio.wait_for(consumer.getone(), 20)
        assert type(refused.value).__name__ == "GroupAuthorizationFailedError"
    finally:
        await consumer.stop()


@pytest.mark.parametrize("how", ["no credentials", "wrong password"])
async def test_a_client_without_valid_credentials_cannot_use_the_broker(infra, acl_prefix, how):
    env = infra.kafka_service_env["screening"]
    options = (
        options_of(env, kafka_password="not-the-password")
        if how == "wrong password"
        else {"security_protocol": "SSL", "ssl_context": options_of(env)["ssl_context"]}
    )
    with pytest.raises((KafkaError, TimeoutError, OSError)):
        await _produce(infra.kafka_bootstrap, acl_prefix + topic_for(Screened.event_type), options)
