"""One soak sample of a running stack: each service's RSS, consumer lag, outbox backlog and dead letters."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import asyncpg
import psutil  # type: ignore[import-untyped]
from aiokafka import AIOKafkaConsumer, TopicPartition

from hearth.contracts import dlq_topic
from hearth.kit.cli.db import consumed_topics
from hearth.kit.settings import kafka_client_options
from hearth.kit.topics import partitions_of

BACKLOG_SQL = "SELECT count(*) FROM hearth_outbox WHERE sent_at IS NULL"
LETTERS_SQL = "SELECT count(*) FROM hearth_dead_letters"
POSITIONS_SQL = (
    "SELECT topic, kafka_partition, next_offset FROM hearth_consumer_positions"
    " WHERE consumer = $1 AND topic = any($2::text[])"
)


class Probe:
    """Reads a stack from outside: /proc for memory, each service's database (its runtime role), and Kafka's
    offsets (as the admin, with no consumer group of its own)."""

    def __init__(self, bootstrap: str, prefix: str, dsns: Mapping[str, str], pids: Mapping[str, int]) -> None:
        self.bootstrap = bootstrap
        self.prefix = prefix
        self.dsns = dict(dsns)
        self.pids = dict(pids)
        self.services = list(self.dsns)
        self._conns: dict[str, Any] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._consumed: dict[str, list[TopicPartition]] = {}
        self._dlq: dict[str, list[TopicPartition]] = {}

    async def start(self) -> None:
        client = kafka_client_options()
        for service in self.services:
            self._conns[service] = await asyncpg.connect(self.dsns[service])
            topics = consumed_topics(service, self.prefix)
            self._consumed[service] = await partitions_of(self.bootstrap, topics, client) if topics else []
            self._dlq[service] = await partitions_of(self.bootstrap, [self.prefix + dlq_topic(service)], client)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False, **client
        )
        await self._consumer.start()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        for conn in self._conns.values():
            await conn.close()

    async def sample(self) -> dict[str, float]:
        assert self._consumer is not None, "start() first"
        # Positions first, end offsets after: an end offset read later is never below a position read earlier,
        # so a record appended and applied in between cannot show as a negative lag.
        stored: dict[str, dict[tuple[str, int], int]] = {}
        for service, tps in self._consumed.items():
            if tps:
                rows = await self._conns[service].fetch(POSITIONS_SQL, service, sorted({tp.topic for tp in tps}))
                stored[service] = {(r["topic"], r["kafka_partition"]): int(r["next_offset"]) for r in rows}
        every = [tp for tps in (*self._consumed.values(), *self._dlq.values()) for tp in tps]
        end = await self._consumer.end_offsets(every) if every else {}
        earliest = await self._consumer.beginning_offsets(every) if every else {}
        out: dict[str, float] = {}
        for service in self.services:
            conn = self._conns[service]
            out[f"{service}.rss_mib"] = rss_mib(self.pids.get(service))
            if service in stored:
                at = stored[service]
                tps = self._consumed[service]
                lag = sum(end[tp] - at.get((tp.topic, tp.partition), earliest[tp]) for tp in tps)
                out[f"{service}.lag"] = float(lag)
            else:
                out[f"{service}.lag"] = math.nan  # consumes nothing
            out[f"{service}.outbox_backlog"] = float(await conn.fetchval(BACKLOG_SQL))
            out[f"{service}.dead_letters"] = float(await conn.fetchval(LETTERS_SQL))
            out[f"{service}.dlq_records"] = float(sum(end[tp] - earliest[tp] for tp in self._dlq[service]))
        return out


def rss_mib(pid: int | None) -> float:
    if pid is None:
        return math.nan
    try:
        return float(psutil.Process(pid).memory_info().rss) / 2**20
    except psutil.Error:
        return math.nan
