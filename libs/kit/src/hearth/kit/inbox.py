"""The idempotent inbox: one consumed record → one transaction that records the event id and applies the
handler's effects → only then the Kafka offset is committed.

Outcomes: applied, duplicate (already in the inbox: no effect), dead-lettered (cannot ever succeed: bad record,
unknown type, or a handler that kept failing) or retry (a transient fault: do not commit, back off, read again).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from typing import Any

from hearth.contracts import ContractError, Event, EventData, parse_event, spec_for

from . import metrics
from .context import EventContext, trace_id_of
from .db import TRANSIENT_DB_ERRORS, Connection, backoff_delays
from .dead_letters import ConsumedRecord, DeadLetterReason, DeadLetters
from .logging import bind_context, get_logger
from .publisher import PublishError
from .tx import Tx
from .uow import UnitOfWork

log = get_logger(__name__)

EventHandler = Callable[[Any, Tx], Awaitable[None]]


class Outcome(enum.Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead_lettered"
    RETRY = "retry"


def event_routes(*pairs: tuple[type[EventData], EventHandler]) -> dict[str, EventHandler]:
    """The subscription table of a service: event model → handler, keyed by the event's wire type."""
    return {spec_for(model).type: handler for model, handler in pairs}


class Inbox:
    def __init__(
        self,
        uow: UnitOfWork,
        routes: dict[str, EventHandler],
        dead_letters: DeadLetters,
        *,
        consumer: str | None = None,
        max_attempts: int = 5,
    ) -> None:
        self._uow = uow
        self._routes = routes
        self._dead_letters = dead_letters
        self.consumer = consumer or uow.service
        self._max_attempts = max_attempts
        self._failures: dict[tuple[str, int, int], int] = {}
        self._next_delay = backoff_delays(cap=5.0)

    @property
    def topics(self) -> list[str]:
        return sorted({self._uow.topic_of(t) for t in self._routes})

    async def handle(self, record: ConsumedRecord) -> Outcome:
        try:
            event = parse_event(record.value or b"")
        except ContractError as exc:
            return await self._dead_letter(record, DeadLetterReason("contract", str(exc)))
        handler = self._routes.get(event.type)
        if handler is None:
            return await self._dead_letter(record, DeadLetterReason("unhandled_type", f"no handler for {event.type}"))
        with bind_context(
            event_id=str(event.id),
            event_type=event.type,
            correlation_id=event.correlationid,
            trace_id=trace_id_of(event.traceparent),
        ):
            return await self._apply(record, event, handler)

    async def _apply(self, record: ConsumedRecord, event: Event[Any], handler: EventHandler) -> Outcome:
        service = self._uow.service
        started = asyncio.get_running_loop().time()
        context = EventContext(event.correlationid, causation_id=str(event.id), traceparent=event.traceparent)

        async def apply(tx: Tx) -> bool:
            if not await _record(tx.conn, self.consumer, event, record):
                return False
            await handler(event, tx)
            return True

        try:
            applied = await self._uow.once(apply, context)
        except TRANSIENT_DB_ERRORS as exc:
            metrics.HANDLER_ERRORS.labels(service, event.type, "transient").inc()
            return await self._back_off(exc)
        except Exception as exc:
            metrics.HANDLER_ERRORS.labels(service, event.type, "permanent").inc()
            where = (record.topic, record.partition, record.offset)
            attempts = self._failures.get(where, 0) + 1
            self._failures[where] = attempts
            log.exception("event_handler_failed", attempts=attempts)
            if attempts < self._max_attempts:
                return await self._back_off(exc)
            self._failures.pop(where, None)
            return await self._dead_letter(record, DeadLetterReason("handler_failed", f"{type(exc).__name__}: {exc}"))
        self._failures.pop((record.topic, record.partition, record.offset), None)
        self._next_delay = backoff_delays(cap=5.0)
        outcome = Outcome.APPLIED if applied else Outcome.DUPLICATE
        metrics.EVENTS_CONSUMED.labels(service, event.type, outcome.value).inc()
        metrics.HANDLER_LATENCY.labels(service, event.type).observe(asyncio.get_running_loop().time() - started)
        return outcome

    async def _dead_letter(self, record: ConsumedRecord, reason: DeadLetterReason) -> Outcome:
        try:
            await self._dead_letters.send(record, reason)
        except PublishError as exc:
            return await self._back_off(exc)
        log.error(
            "event_dead_lettered",
            reason=reason.code,
            error=reason.error[:300],
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
        )
        return Outcome.DEAD_LETTERED

    async def _back_off(self, exc: BaseException) -> Outcome:
        delay = self._next_delay()
        log.warning("event_retry", error=type(exc).__name__, retry_in=round(delay, 2))
        await asyncio.sleep(delay)
        return Outcome.RETRY


async def _record(conn: Connection, consumer: str, event: Event[Any], record: ConsumedRecord) -> bool:
    inserted = await conn.fetchval(
        "INSERT INTO hearth_inbox (consumer, event_id, event_type, topic, kafka_partition, kafka_offset)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING true",
        consumer,
        event.id,
        event.type,
        record.topic,
        record.partition,
        record.offset,
    )
    return bool(inserted)
