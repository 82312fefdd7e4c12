"""Kafka clients for the CLI, configured from the same `HEARTH_*` settings as the services."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer

from ..settings import KafkaSettings
from ..topics import describe_partitions, partitions_of
from .errors import CliError, where

_UNKNOWN_TOPIC, _NOT_AUTHORIZED = 3, 29


def settings() -> KafkaSettings:
    return KafkaSettings()


def environment_help() -> str:
    """The `HEARTH_*` variables a Kafka command reads, for `--help` (an argparse epilog)."""
    lines = ["environment (the same HEARTH_* settings as the services):"]
    for name, field in KafkaSettings.model_fields.items():
        default = "" if field.default in (None, "") else f" [default: {field.default}]"
        lines.append(f"  HEARTH_{name.upper():<28} {field.description}{default}")
    lines.append(
        '  locally: eval "$(python3 deploy/local/infra.py env)"; a subscriber: `hearth subscribers credentials`'
    )
    return "\n".join(lines)


async def check_readable(config: KafkaSettings, topics: list[str]) -> None:
    """Raise a one-line `CliError` unless every topic exists and this principal may describe it."""
    _, errors = await describe_partitions(config.kafka_bootstrap, topics, config.kafka_client_options())
    missing = sorted(t for t, code in errors.items() if code == _UNKNOWN_TOPIC)
    refused = sorted(t for t, code in errors.items() if code == _NOT_AUTHORIZED)
    prefix = repr(config.topic_prefix) + ("" if config.topic_prefix else " (HEARTH_TOPIC_PREFIX is not set)")
    if missing and len(missing) == len(topics):
        raise CliError(f"no hearth topics with prefix {prefix} at {where(config)}: check HEARTH_TOPIC_PREFIX")
    if refused:
        user = config.kafka_username or "(no HEARTH_KAFKA_USERNAME)"
        raise CliError(
            f"not authorized (Kafka user {user}) to read {', '.join(refused)}: they are not among the topics this "
            f"user may read, or do not exist with prefix {prefix}; choose others with --type"
        )
    if missing or (other := sorted(set(errors) - set(missing) - set(refused))):
        raise CliError(f"no such topic(s) with prefix {prefix}: {', '.join(missing or other)}")


async def read_all(topics: list[str], *, timeout: float = 2.0) -> AsyncIterator[Any]:
    """Every record now on `topics`, from the beginning to the current end, without joining a group."""
    config = settings()
    partitions = await partitions_of(config.kafka_bootstrap, topics, config.kafka_client_options())
    consumer = AIOKafkaConsumer(
        bootstrap_servers=config.kafka_bootstrap, enable_auto_commit=False, **config.kafka_client_options()
    )
    try:
        await consumer.start()
        await asyncio.sleep(0)  # let the consumer's background task start, or an immediate stop() fails
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
