"""The dead-letter topic `<service>.dlq`: records a service cannot accept, kept whole with why and from where."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from hearth.contracts import dlq_topic

from . import metrics
from .publisher import KafkaPublisher, Record

REASON = "hearth-dlq-reason"
ERROR = "hearth-dlq-error"
ORIGIN_TOPIC = "hearth-dlq-origin-topic"
ORIGIN_PARTITION = "hearth-dlq-origin-partition"
ORIGIN_OFFSET = "hearth-dlq-origin-offset"
CONSUMER = "hearth-dlq-consumer"
FAILED_AT = "hearth-dlq-failed-at"
REPLAYED_FROM = "hearth-replayed-from"
DLQ_HEADERS = frozenset({REASON, ERROR, ORIGIN_TOPIC, ORIGIN_PARTITION, ORIGIN_OFFSET, CONSUMER, FAILED_AT})


class ConsumedRecord(Protocol):
    """What the kit needs of a consumed Kafka record (aiokafka's ConsumerRecord has it)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> tuple[tuple[str, bytes], ...] | list[tuple[str, bytes]]: ...


@dataclass(frozen=True)
class DeadLetterReason:
    code: str  # "contract" (unparseable or invalid) | "unhandled_type" | "handler_failed"
    error: str


class DeadLetters:
    def __init__(self, publisher: KafkaPublisher, service: str, *, topic_prefix: str = "") -> None:
        self._publisher = publisher
        self._service = service
        self.topic = topic_prefix + dlq_topic(service)

    async def send(self, record: ConsumedRecord, reason: DeadLetterReason) -> None:
        """Publish the original key, value and headers plus the reason and origin; raises PublishError."""
        headers = [(k, v) for k, v in record.headers if k not in DLQ_HEADERS]
        headers += [
            (REASON, reason.code.encode()),
            (ERROR, reason.error[:2000].encode()),
            (ORIGIN_TOPIC, record.topic.encode()),
            (ORIGIN_PARTITION, str(record.partition).encode()),
            (ORIGIN_OFFSET, str(record.offset).encode()),
            (CONSUMER, self._service.encode()),
            (FAILED_AT, datetime.now(UTC).isoformat().encode()),
        ]
        await self._publisher.send_all([Record(self.topic, record.key, record.value, headers)])
        metrics.DLQ_RECORDS.labels(self._service, record.topic).inc()
