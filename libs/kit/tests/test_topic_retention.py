"""`hearth topics create` sets each topic's retention from the catalog, on new topics and on existing ones (other
settings of an existing topic stay); the services' inbox outlasts the longest retention."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from hearth.contracts import dlq_topic
from hearth.contracts.retention import longest_retention, retention_of
from hearth.kit.settings import KitSettings, kafka_client_options
from hearth.kit.testing.kafka import delete_topics
from hearth.kit.topics import catalog_topics, ensure_topics

HEARTH = str(Path(sys.executable).parent / "hearth")
_DYNAMIC = 1  # DescribeConfigs source: set on the topic


async def dynamic_configs(bootstrap: str, topics: list[str]) -> dict[str, dict[str, str]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **kafka_client_options())
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in topics])
    finally:
        await admin.close()
    return {
        name: {entry[0]: entry[1] for entry in entries if entry[3] == _DYNAMIC}
        for _, _, _, name, entries in response.resources
    }


async def test_topics_create_sets_the_catalog_retention_on_new_and_existing_topics(infra, unique_name):
    prefix = unique_name("ret") + "."
    approved, missed = prefix + "screening.approved.v1", prefix + "session.check-in-missed.v1"
    # An older deployment: one topic already there with the broker's 7 days and a setting of its own.
    await ensure_topics(infra.kafka_bootstrap, [approved], partitions=1, retention_ms=7 * 86_400_000)
    await ensure_topics(infra.kafka_bootstrap, [prefix + "x"], partitions=1)  # not ours: left alone
    try:
        run = subprocess.run(
            [HEARTH, "topics", "create", "--partitions", "1"],
            env={**os.environ, "HEARTH_TOPIC_PREFIX": prefix}, capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert f"retention set on 1 existing topic(s): {approved}" in run.stdout

        configs = await dynamic_configs(infra.kafka_bootstrap, [approved, missed, prefix + dlq_topic("session")])
        assert configs[approved]["retention.ms"] == str(retention_of("screening.approved.v1").ms)
        assert configs[missed]["retention.ms"] == str(retention_of("session.check-in-missed.v1").ms)
        assert configs[prefix + dlq_topic("session")]["retention.ms"] == str(retention_of("session.dlq").ms)
        assert int(configs[approved]["retention.ms"]) > 365 * 86_400_000
    finally:
        await delete_topics(infra.kafka_bootstrap, [*catalog_topics(prefix), prefix + "x"])


def test_the_inbox_outlasts_the_longest_topic_retention():
    default = KitSettings.model_fields["inbox_retention_hours"].default
    assert default > longest_retention().days * 24
