"""Kafka clients for the CLI, configured from the same `HEARTH_*` settings as the services."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer

from ..settings import KafkaSettings
from ..topics import partitions_of


def settings() -> KafkaSettings:
    return KafkaSettings()


async def read_all(topics: list[str], *, timeout: float = 2.0) -> AsyncIterator[Any]:
    """Every record now on `topics`, from the beginning to the current end, without joining a group."""
    config = settings()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=config.kafka_bootstrap, enable_auto_commit=False, **config.kafka_client_options()
    )
    partitions = await partitions_of(config.kafka_bootstrap, topics, config.kafka_client_options())
    await consumer.start()
    await asyncio.sleep(0)  # let the consumer's background task start, or an immediate stop() fails
    try:
        if not partitions:
            return
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp, end in ends.items() if end > 0}
        while remaining:
            batch = await asyncio.wait_for(consumer.getmany(timeout_ms=500), timeout + 1)
            for tp, records in batch.items():
                for record in records:
                    yield record
                    if record.offset + 1 >= ends[tp]:
                        remaining.discard(tp)
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()


async def existing_topics() -> set[str]:
    config = settings()
    consumer = AIOKafkaConsumer(bootstrap_servers=config.kafka_bootstrap, **config.kafka_client_options())
    await consumer.start()
    try:
        return set(await consumer.topics())
    finally:
        await consumer.stop()
