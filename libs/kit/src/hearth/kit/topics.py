"""Creating the catalog's topics (and every service's DLQ) idempotently, with configured partitions."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from hearth.contracts import CATALOG, SERVICES, dlq_topic

from .settings import kafka_client_options


def catalog_topics(prefix: str = "") -> list[str]:
    names = {spec.topic for spec in CATALOG.values()} | {dlq_topic(s) for s in SERVICES}
    return sorted(prefix + name for name in names)


async def ensure_topics(
    bootstrap: str,
    names: Iterable[str],
    *,
    partitions: int = 6,
    replication: int = 1,
    retention_ms: int | None = None,
    client: dict[str, object] | None = None,
) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **(kafka_client_options() if client is None else client))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [n for n in names if n not in existing]
        config = {} if retention_ms is None else {"retention.ms": str(retention_ms)}
        if wanted:
            try:
                await admin.create_topics([NewTopic(n, partitions, replication, topic_configs=config) for n in wanted])
            except TopicAlreadyExistsError:
                pass  # another runner created it between our list and create
        for _ in range(100):  # wait until the metadata shows them, so a producer right after does not fail
            if set(wanted) <= set(await admin.list_topics()):
                break
            await asyncio.sleep(0.1)
        return wanted
    finally:
        await admin.close()


async def partitions_of(
    bootstrap: str, topics: Sequence[str], client: dict[str, object] | None = None
) -> list[TopicPartition]:
    """The partitions of existing topics (a consumer's metadata only knows the topics it subscribed to)."""
    return (await describe_partitions(bootstrap, topics, client))[0]


async def describe_partitions(
    bootstrap: str, topics: Sequence[str], client: dict[str, object] | None = None
) -> tuple[list[TopicPartition], dict[str, int]]:
    """The partitions of the topics that can be described, and the Kafka error code of each that cannot
    (3: no such topic; 29: not authorized, which Kafka also answers for a topic that does not exist)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **(kafka_client_options() if client is None else client))
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    partitions = [
        TopicPartition(t["topic"], p["partition"])
        for t in described
        if not t.get("error_code")
        for p in t["partitions"]
    ]
    return partitions, {t["topic"]: t["error_code"] for t in described if t.get("error_code")}
