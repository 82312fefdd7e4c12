"""Moving a consumer group's committed offsets back in time, so it reads the history the topics still hold.

What `kafka-consumer-groups --reset-offsets --to-datetime` does, through a client: the group's committed offset on
each partition of the topics becomes the first record at or after `since` (the end, when none is that new). The
group must have no running member: Kafka refuses a commit from outside a live generation, and this says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalGenerationError, RebalanceInProgressError, UnknownMemberIdError

from .settings import KafkaSettings
from .topics import partitions_of


class GroupActiveError(RuntimeError):
    pass


async def rewind_group(
    config: KafkaSettings, group: str, topics: Sequence[str], since: datetime
) -> dict[TopicPartition, int]:
    """Commit, for `group`, the offset of the first record at or after `since` on every partition of `topics`."""
    options = config.kafka_client_options()
    partitions = await partitions_of(config.kafka_bootstrap, topics, options)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=config.kafka_bootstrap, group_id=group, enable_auto_commit=False, **options
    )
    try:
        await consumer.start()
        await asyncio.sleep(0)  # let the consumer's background task start, or an immediate stop() fails
        if not partitions:
            return {}
        consumer.assign(partitions)
        found = await consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in partitions})
        ends = await consumer.end_offsets(partitions)
        offsets = {tp: found[tp].offset if found.get(tp) is not None else ends[tp] for tp in partitions}
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalGenerationError, RebalanceInProgressError, UnknownMemberIdError) as busy:
            raise GroupActiveError(f"consumer group {group} has running members: stop them first") from busy
        return offsets
    finally:
        await consumer.stop()
