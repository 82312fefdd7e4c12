"""Counts what actually went over Kafka: every event type on the run's topics, deduplicated by event id."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from typing import Any

from aiokafka import AIOKafkaConsumer

from hearth.contracts import CATALOG, ContractError, Event, parse_event
from hearth.kit.settings import kafka_client_options


class EventCounter:
    def __init__(self, bootstrap: str, prefix: str, client: dict[str, Any] | None = None) -> None:
        self._bootstrap = bootstrap
        self._topics = sorted({prefix + spec.topic for spec in CATALOG.values()})
        self._client = kafka_client_options() if client is None else client
        self._seen: set[str] = set()
        self.counts: Counter[str] = Counter()
        self.duplicates = 0
        self.unreadable = 0
        self.by_patient: dict[str, list[Event[Any]]] = defaultdict(list)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), 30)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def count(self, short_name: str) -> int:
        """Count by the short name, e.g. "box-shipped"."""
        return sum(n for t, n in self.counts.items() if CATALOG[t].name == short_name)

    def events_of(self, short_name: str) -> list[Event[Any]]:
        return [e for events in self.by_patient.values() for e in events if CATALOG[e.type].name == short_name]

    async def _run(self) -> None:
        consumer = AIOKafkaConsumer(
            *self._topics,
            bootstrap_servers=self._bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
            **self._client,
        )
        await consumer.start()
        try:
            self._ready.set()
            while True:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        self._add(record.value)
        finally:
            await consumer.stop()

    def _add(self, value: bytes | None) -> None:
        try:
            event = parse_event(value or b"")
        except ContractError:
            self.unreadable += 1
            return
        if str(event.id) in self._seen:
            self.duplicates += 1  # a relay re-send after a crash: same event, not a second fact
            return
        self._seen.add(str(event.id))
        self.counts[event.type] += 1
        self.by_patient[event.subject].append(event)
