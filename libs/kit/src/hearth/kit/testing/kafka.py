"""Topic helpers for tests: create topics with the admin client, wait until metadata shows them.

The admin client's security (SASL_SSL with the admin's SCRAM credentials against the local launcher) comes from
HEARTH_KAFKA_* settings: the `security` argument when given (a mapping such as `Infra.kafka_env`), otherwise the
environment, which the `infra` and `private_infra` fixtures set.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from hearth.kit.settings import KafkaSettings

TOPIC_ALREADY_EXISTS = 36


def kafka_client_options(security: Mapping[str, str] | None = None) -> dict[str, Any]:
    """aiokafka security options from HEARTH_KAFKA_* settings: `security` if given, else the environment."""
    return kafka_settings(security).kafka_client_options()


def kafka_settings(security: Mapping[str, str] | None = None) -> KafkaSettings:
    """The HEARTH_KAFKA_* settings: `security` if given, else the environment."""
    if security is None:
        return KafkaSettings()
    fields: dict[str, Any] = {
        name.removeprefix("HEARTH_").lower(): value
        for name, value in security.items()
        if name.startswith("HEARTH_KAFKA_") and value
    }
    # The mapping only: an environment prefix nothing uses keeps os.environ out.
    return KafkaSettings(_env_prefix="HEARTH_TESTING_UNUSED_", **fields)


class CreateTopics(Protocol):
    """The `kafka_topics` fixture: `await kafka_topics("a", "b", partitions=3)` returns `["a", "b"]`."""

    async def __call__(
        self, *names: str, partitions: int = 3, config: Mapping[str, str] | None = None
    ) -> list[str]: ...


async def create_topics(
    bootstrap: str,
    names: Sequence[str],
    *,
    partitions: int = 3,
    replication_factor: int | None = None,
    config: Mapping[str, str] | None = None,
    exist_ok: bool = False,
    within: float = 30.0,
    security: Mapping[str, str] | None = None,
) -> None:
    """Create the topics; return once metadata lists each of them with all its partitions. Replication and
    min.insync.replicas as HEARTH_KAFKA_REPLICATION_FACTOR / _MIN_INSYNC_REPLICAS say (1 and the broker's default
    when unset), unless given."""
    settings = kafka_settings(security)
    replication_factor = replication_factor or settings.kafka_replication_factor
    options = settings.kafka_client_options()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="hearth-tests", **options)
    await admin.start()
    try:
        configs = dict(config or {})
        if settings.kafka_min_insync_replicas is not None:
            configs.setdefault("min.insync.replicas", str(settings.kafka_min_insync_replicas))
        new = [NewTopic(name, partitions, replication_factor, topic_configs=configs) for name in names]
        response = await admin.create_topics(new, timeout_ms=int(within * 1000))
        failed = [
            f"{error[0]}: error {error[1]} {error[2] if len(error) > 2 else ''}".strip()
            for error in response.topic_errors
            if error[1] != 0 and not (exist_ok and error[1] == TOPIC_ALREADY_EXISTS)
        ]
        if failed:
            raise RuntimeError(f"could not create topics: {'; '.join(failed)}")
        await asyncio.wait_for(_until_visible(admin, names, partitions), within)
    finally:
        await admin.close()


async def _until_visible(admin: AIOKafkaAdminClient, names: Sequence[str], partitions: int) -> None:
    while True:
        topics = await admin.describe_topics(list(names))
        ready = {t["topic"] for t in topics if t["error_code"] == 0 and len(t["partitions"]) >= partitions}
        if ready >= set(names):
            return
        await asyncio.sleep(0.05)


async def delete_topics(
    bootstrap: str, names: Sequence[str], *, within: float = 10.0, security: Mapping[str, str] | None = None
) -> None:
    """Delete the topics, best effort (a topic already gone is fine)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="hearth-tests", **kafka_client_options(security))
    with contextlib.suppress(Exception):
        await asyncio.wait_for(admin.start(), within)
        await asyncio.wait_for(admin.delete_topics(list(names), timeout_ms=int(within * 1000)), within)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(admin.close(), within)
