"""A Kafka producer that never hangs the caller.

aiokafka's idempotent producer can wait forever for a producer id while the broker is down (aio-libs/aiokafka
#1101), in `send` and in `stop`.  Every call here has a deadline; on a timeout or error the producer is thrown
away and the caller treats the records as not sent (they stay pending and are sent again: consumers dedupe).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    TopicAuthorizationFailedError,
)

from .logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Record:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]


class PublishError(RuntimeError):
    """Not sent this time; sending again may work (broker down, leader moving, timeout)."""


class PermanentPublishError(PublishError):
    """Refused for what the record is or where it goes (too large, not authorised, no such topic name): sending
    the same record again can never work, so callers must not retry it forever."""


# The broker or the client refuses the record itself: the cause is in the message, and retrying cannot help.
# (aiokafka checks a record's shape with assertions and type errors before it is sent.)
PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    AssertionError,
    TypeError,
    ValueError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    TopicAuthorizationFailedError,
    ClusterAuthorizationFailedError,
    InvalidTopicError,
)


class KafkaPublisher:
    def __init__(self, bootstrap: str, *, timeout: float = 15.0, linger_ms: int = 2, **client: Any) -> None:
        self._bootstrap = bootstrap
        self._timeout = timeout
        self._linger_ms = linger_ms
        self._client = client
        self._producer: AIOKafkaProducer | None = None

    async def _ready(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self._bootstrap,
                enable_idempotence=True,
                acks="all",
                linger_ms=self._linger_ms,
                request_timeout_ms=int(self._timeout * 1000),
                **self._client,
            )
            try:
                await asyncio.wait_for(producer.start(), self._timeout)
            except BaseException:
                await self._abandon(producer)
                raise
            self._producer = producer
        return self._producer

    async def send_all(self, records: Sequence[Record]) -> None:
        """Send records pipelined and wait for every acknowledgement; all or an exception."""
        try:
            producer = await self._ready()

            async def send() -> None:
                futures = [await producer.send(r.topic, value=r.value, key=r.key, headers=r.headers) for r in records]
                await asyncio.gather(*futures)

            await asyncio.wait_for(send(), self._timeout)
        except PERMANENT_ERRORS as exc:
            await self.reset()
            raise PermanentPublishError(f"{type(exc).__name__}: {exc}") from exc
        except TimeoutError as exc:
            await self.reset()
            raise PublishError(
                f"not acknowledged within {self._timeout:.0f} s (brokers unreachable, or fewer in-sync replicas "
                "than min.insync.replicas)"
            ) from exc
        except Exception as exc:
            await self.reset()
            raise PublishError(f"{type(exc).__name__}: {exc}") from exc

    async def reset(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await self._abandon(producer)

    async def _abandon(self, producer: AIOKafkaProducer) -> None:
        try:
            await asyncio.wait_for(producer.stop(), 5.0)
        except Exception as exc:  # a stuck producer is dropped, not awaited forever
            log.warning("kafka_producer_stop_failed", error=type(exc).__name__)

    async def stop(self) -> None:
        await self.reset()
