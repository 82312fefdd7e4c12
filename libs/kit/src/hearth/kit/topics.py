"""Creating the catalog's topics (and every service's DLQ) idempotently, with configured partitions and the
retention the catalog gives each topic (`hearth.contracts.retention`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError

from hearth.contracts import CATALOG, SERVICES, dlq_topic
from hearth.contracts.retention import retention_of

from .settings import KafkaSettings, kafka_client_options

TopicConfigs = Mapping[str, Mapping[str, str]]
_DYNAMIC_TOPIC_CONFIG = 1  # DescribeConfigs: the value was set on the topic


def catalog_topics(prefix: str = "") -> list[str]:
    names = {spec.topic for spec in CATALOG.values()} | {dlq_topic(s) for s in SERVICES}
    return sorted(prefix + name for name in names)


def catalog_topic_configs(prefix: str = "") -> dict[str, dict[str, str]]:
    """Each catalog and dead-letter topic's settings: its retention from the catalog."""
    return {prefix + t: {"retention.ms": str(retention_of(t).ms)} for t in catalog_topics()}


async def ensure_topics(
    bootstrap: str,
    names: Iterable[str],
    *,
    partitions: int = 6,
    replication: int | None = None,
    min_insync: int | None = None,
    retention_ms: int | None = None,
    configs: TopicConfigs | None = None,
    client: dict[str, object] | None = None,
) -> list[str]:
    """Create the topics that do not exist yet, each with its `configs` (or `retention_ms` for all); returns the
    ones created. Replication and min.insync.replicas: the arguments, else HEARTH_KAFKA_REPLICATION_FACTOR and
    HEARTH_KAFKA_MIN_INSYNC_REPLICAS (1 and the broker's default when unset: right for one broker)."""
    settings = KafkaSettings()
    replication = replication or settings.kafka_replication_factor
    min_insync = min_insync or settings.kafka_min_insync_replicas
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **(kafka_client_options() if client is None else client))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [n for n in names if n not in existing]
        every = {} if retention_ms is None else {"retention.ms": str(retention_ms)}
        if min_insync is not None:
            every["min.insync.replicas"] = str(min_insync)
        if wanted:
            new = [NewTopic(n, partitions, replication, topic_configs={**(configs or {}).get(n, {}), **every})
                   for n in wanted]  # fmt: skip
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass  # another runner created it between our list and create
        for _ in range(100):  # wait until the metadata shows them, so a producer right after does not fail
            if set(wanted) <= set(await admin.list_topics()):
                break
            await asyncio.sleep(0.1)
        return wanted
    finally:
        await admin.close()


async def configure_topics(bootstrap: str, configs: TopicConfigs, client: dict[str, object] | None = None) -> list[str]:
    """Give existing topics these settings where they differ (their other settings stay); returns those changed."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **(kafka_client_options() if client is None else client))
    await admin.start()
    try:
        existing = sorted(set(configs) & set(await admin.list_topics()))
        if not existing:
            return []
        [described] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in existing])
        current = {
            name: {entry[0]: entry[1] for entry in entries if entry[3] == _DYNAMIC_TOPIC_CONFIG}
            for _, _, _, name, entries in described.resources
        }
        changed = [t for t in existing if any(current[t].get(k) != v for k, v in configs[t].items())]
        if changed:  # AlterConfigs replaces a topic's settings: send the ones it has, updated
            resources = [ConfigResource(ConfigResourceType.TOPIC, t, {**current[t], **configs[t]}) for t in changed]
            for response in await admin.alter_configs(resources):
                for error_code, message, _, name in response.resources:
                    if error_code:
                        raise RuntimeError(f"configuring topic {name} failed: error {error_code} {message}")
        return changed
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
