"""The idempotent inbox: one consumed record → one transaction that records the event id and applies the
handler's effects → only then the Kafka offset is committed.

Records come in batches (one, or as many as `getmany` returned): one transaction settles them all — each record
applied (in a savepoint), found a duplicate (already in the inbox: no effect) or dead-lettered (cannot ever
succeed: bad record, unknown type, a handler that kept failing) — and one offset commit follows.  A transient
fault rolls the whole batch back; nothing is committed and the batch is read again after a backoff.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable, Sequence
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
        return await self.handle_batch([record])

    async def handle_batch(self, records: Sequence[ConsumedRecord]) -> Outcome:
        """Settle every record in one transaction (applied, duplicate or dead-lettered) and return APPLIED, or
        commit nothing and return RETRY after a backoff; the caller commits offsets only on APPLIED."""
        started = asyncio.get_running_loop().time()
        try:
            settled = await self._settle(records)
        except _RetryBatch as retry:
            return await self._back_off(retry.cause)
        except _RETRYABLE as exc:
            metrics.HANDLER_ERRORS.labels(self._uow.service, "batch", "transient").inc()
            return await self._back_off(exc)
        self._next_delay = backoff_delays(cap=5.0)
        elapsed = asyncio.get_running_loop().time() - started
        for event_type, outcome in settled:
            metrics.EVENTS_CONSUMED.labels(self._uow.service, event_type, outcome.value).inc()
            metrics.HANDLER_LATENCY.labels(self._uow.service, event_type).observe(elapsed / len(settled))
        return Outcome.APPLIED

    async def _settle(self, records: Sequence[ConsumedRecord]) -> list[tuple[str, Outcome]]:
        async with self._uow.pool.acquire() as conn, conn.transaction():
            try:
                async with conn.transaction():  # a savepoint around the fast pass
                    return await self._settle_fast(conn, records)
            except _HandlerFailed:
                pass  # some handler failed: settle this batch again record by record, counting its attempts
            return [await self._settle_one(conn, record) for record in records]

    async def _settle_fast(self, conn: Connection, records: Sequence[ConsumedRecord]) -> list[tuple[str, Outcome]]:
        """The common case in few statements: every event id recorded by one INSERT, handlers without a
        savepoint each.  Any handler failure aborts the pass (`_HandlerFailed`); dead letters are only sent
        once the pass has succeeded, so the slower pass never sends one twice."""
        settled: list[tuple[str, Outcome] | None] = [None] * len(records)
        letters: list[tuple[int, ConsumedRecord, str, DeadLetterReason]] = []
        todo: list[tuple[int, ConsumedRecord, Event[Any], EventHandler]] = []
        for i, record in enumerate(records):
            try:
                event = parse_event(record.value or b"")
            except ContractError as exc:
                letters.append((i, record, "unreadable", DeadLetterReason("contract", str(exc))))
                continue
            handler = self._routes.get(event.type)
            if handler is None:
                letters.append(
                    (i, record, event.type, DeadLetterReason("unhandled_type", f"no handler for {event.type}"))
                )
                continue
            todo.append((i, record, event, handler))
        fresh = await _record_all(conn, self.consumer, [(event, record) for _, record, event, _ in todo])
        for i, record, event, handler in todo:
            if str(event.id) not in fresh:
                settled[i] = (event.type, Outcome.DUPLICATE)
                continue
            fresh.discard(str(event.id))  # the same event twice in one batch: applied once
            context = EventContext(event.correlationid, causation_id=str(event.id), traceparent=event.traceparent)
            with bind_context(
                event_id=str(event.id),
                event_type=event.type,
                correlation_id=event.correlationid,
                trace_id=trace_id_of(event.traceparent),
            ):
                tx = self._uow.tx(conn, context)
                try:
                    await handler(event, tx)
                    await tx.flush()
                except _RETRYABLE:
                    raise
                except Exception as exc:
                    raise _HandlerFailed from exc
            self._failures.pop((record.topic, record.partition, record.offset), None)
            settled[i] = (event.type, Outcome.APPLIED)
        for i, record, event_type, reason in letters:
            settled[i] = (event_type, await self._dead_letter(record, reason))
        return [s for s in settled if s is not None]

    async def _settle_one(self, conn: Connection, record: ConsumedRecord) -> tuple[str, Outcome]:
        try:
            event = parse_event(record.value or b"")
        except ContractError as exc:
            return "unreadable", await self._dead_letter(record, DeadLetterReason("contract", str(exc)))
        handler = self._routes.get(event.type)
        if handler is None:
            reason = DeadLetterReason("unhandled_type", f"no handler for {event.type}")
            return event.type, await self._dead_letter(record, reason)
        with bind_context(
            event_id=str(event.id),
            event_type=event.type,
            correlation_id=event.correlationid,
            trace_id=trace_id_of(event.traceparent),
        ):
            return event.type, await self._apply(conn, record, event, handler)

    async def _apply(
        self, conn: Connection, record: ConsumedRecord, event: Event[Any], handler: EventHandler
    ) -> Outcome:
        context = EventContext(event.correlationid, causation_id=str(event.id), traceparent=event.traceparent)
        where = (record.topic, record.partition, record.offset)
        try:
            async with conn.transaction():  # a savepoint: this event's effects or none of them
                if not await _record(conn, self.consumer, event, record):
                    return Outcome.DUPLICATE
                tx = self._uow.tx(conn, context)
                await handler(event, tx)
                await tx.flush()
        except _RETRYABLE:
            raise
        except Exception as exc:
            metrics.HANDLER_ERRORS.labels(self._uow.service, event.type, "permanent").inc()
            attempts = self._failures.get(where, 0) + 1
            self._failures[where] = attempts
            log.exception("event_handler_failed", attempts=attempts)
            if attempts < self._max_attempts:
                raise _RetryBatch(exc) from exc
            self._failures.pop(where, None)
            return await self._dead_letter(record, DeadLetterReason("handler_failed", f"{type(exc).__name__}: {exc}"))
        self._failures.pop(where, None)
        return Outcome.APPLIED

    async def _dead_letter(self, record: ConsumedRecord, reason: DeadLetterReason) -> Outcome:
        """Publish before the batch commits; if the batch is then retried the letter may be published twice."""
        await self._dead_letters.send(record, reason)
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


class _HandlerFailed(Exception):
    """A handler raised during the fast pass: its effects are rolled back and the batch is settled slowly."""


class _RetryBatch(Exception):
    """A handler failed but has attempts left: roll the batch back and read it again after a backoff."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


_RETRYABLE: tuple[type[Exception], ...] = (PublishError, *TRANSIENT_DB_ERRORS)


async def _record_all(
    conn: Connection, consumer: str, consumed: Sequence[tuple[Event[Any], ConsumedRecord]]
) -> set[str]:
    """Record every event of a batch in one statement; returns the ids that were not there yet."""
    if not consumed:
        return set()
    rows = await conn.fetch(
        "INSERT INTO hearth_inbox (consumer, event_id, event_type, topic, kafka_partition, kafka_offset)"
        " SELECT $1, e, t, tp, p, o FROM unnest($2::uuid[], $3::text[], $4::text[], $5::int[], $6::bigint[])"
        " AS u(e, t, tp, p, o) ON CONFLICT DO NOTHING RETURNING event_id::text",
        consumer,
        [str(e.id) for e, _ in consumed],
        [e.type for e, _ in consumed],
        [r.topic for _, r in consumed],
        [r.partition for _, r in consumed],
        [r.offset for _, r in consumed],
    )
    return {row[0] for row in rows}


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
