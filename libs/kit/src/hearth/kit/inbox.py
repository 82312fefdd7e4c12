"""The idempotent inbox: a batch of consumed records → one transaction that settles every record, records the
consumer's position after the batch, and commits.

Each record is settled on its own, whatever its bytes: applied (its event id recorded and the handler's effects
written), a duplicate (the id was applied before, with the same payload: no effect) or dead-lettered (a letter
kept in `hearth_dead_letters`, published after the commit).  Anything wrong with one record — bytes that are not
an event, an event on a topic or from a source its type does not belong to, the same id with another payload, a
handler that keeps failing — letters that record and only it.  A fault that is not about a record (the
database is down) rolls the whole batch back: neither effects nor position are written, and the batch is read
again from its first record after a backoff.

Because the position is written in the transaction of the effects, a committed position can never pass a
record that is neither applied nor dead-lettered, and a database restored from a backup rewinds the consumer to
exactly where its state was (`consumer.py` seeks there on every assignment).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hearth.contracts import Event

from . import at_commit, db, inbox_rows, metrics, positions, telemetry
from .context import EventContext, trace_id_of
from .db import TRANSIENT_DB_ERRORS, Connection, backoff_delays
from .dead_letters import ConsumedRecord, DeadLetterReason, load_letters, printable, record_letters
from .event_handlers import BatchHandler, EventHandler
from .inbox_records import Accepted, Rejected, classify, conflict
from .logging import bind_context, get_logger
from .tx import Tx
from .uow import UnitOfWork

log = get_logger(__name__)


class Outcome(enum.Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead_lettered"
    RETRY = "retry"


@dataclass(frozen=True)
class ReplayResult:
    letter_id: int
    outcome: str  # "applied" | "duplicate" | "dead_lettered: <reason>"


class Inbox:
    def __init__(
        self,
        uow: UnitOfWork,
        routes: dict[str, EventHandler],
        *,
        consumer: str | None = None,
        max_attempts: int = 5,
    ) -> None:
        self._uow = uow
        self._routes = routes
        self.consumer = consumer or uow.service
        self._max_attempts = max_attempts
        self._failures: dict[tuple[str, int, int], int] = {}
        self._next_delay = backoff_delays(cap=5.0)

    @property
    def service(self) -> str:
        return self._uow.service

    @property
    def pool(self) -> Any:
        return self._uow.pool

    @property
    def topics(self) -> list[str]:
        return sorted({self._uow.topic_of(t) for t in self._routes})

    async def handle(self, record: ConsumedRecord) -> Outcome:
        return await self.handle_batch([record])

    async def handle_batch(self, records: Sequence[ConsumedRecord], *, keep_position: bool = True) -> Outcome:
        """Settle every record and (unless told not to) record the position after the batch, in one
        transaction, and return APPLIED; or commit nothing and return RETRY after a backoff."""
        if not records:
            return Outcome.APPLIED
        started = asyncio.get_running_loop().time()
        try:
            settled = await self._settle(records, keep_position=keep_position)
        except _RetryBatch as retry:
            return await self._back_off(retry.cause)
        except _RETRYABLE as exc:
            metrics.HANDLER_ERRORS.labels(self.service, "batch", "transient").inc()
            return await self._back_off(exc)
        self._next_delay = backoff_delays(cap=5.0)
        elapsed = asyncio.get_running_loop().time() - started
        # Counted per kind of record, not per record: a label lookup costs as much as settling a small event.
        for (event_type, outcome), n in Counter(settled).items():
            metrics.EVENTS_CONSUMED.labels(self.service, event_type, outcome.value).inc(n)
        for event_type, n in Counter(event_type for event_type, _ in settled).items():
            latency = metrics.HANDLER_LATENCY.labels(self.service, event_type)
            for _ in range(n):
                latency.observe(elapsed / len(settled))
        return Outcome.APPLIED

    async def replay(self, letter_ids: Sequence[int] | None) -> list[ReplayResult]:
        """Process stored dead letters again, here and nowhere else: the record as this service read it from
        its origin topic, through the same checks, once, without moving any position.  Transient faults
        propagate (nothing is written); a letter that fails again keeps its row, with the new outcome."""
        async with self.pool.acquire() as conn:
            letters = await load_letters(conn, self.consumer, letter_ids)
        results = []
        for letter in letters:
            async with self.pool.acquire() as conn, conn.transaction():
                letters_now: list[tuple[ConsumedRecord, DeadLetterReason]] = []
                _, outcome = await self._settle_one(conn, letter.record, letters_now, attempts_left=False)
                text = outcome.value
                if letters_now:
                    text = f"dead_lettered: {letters_now[0][1].code}"
                await conn.execute(
                    "UPDATE hearth_dead_letters SET replayed_at = clock_timestamp(), replay_outcome = $2 WHERE id = $1",
                    letter.id,
                    text,
                )
            log.info("dead_letter_replayed", letter_id=letter.id, outcome=text)
            results.append(ReplayResult(letter.id, text))
        return results

    async def _settle(self, records: Sequence[ConsumedRecord], *, keep_position: bool) -> list[tuple[str, Outcome]]:
        async with self.pool.acquire() as conn:
            letters: list[tuple[ConsumedRecord, DeadLetterReason]] = []
            try:
                # The fast pass is the transaction's first part, so a failure rolls back the whole transaction
                # rather than a savepoint (two round trips fewer per batch).  The batch's audit and outbox rows
                # are written at the pass's end (at_commit.py), so their locks are held from there to the
                # COMMIT, not for the whole batch.
                async with conn.transaction(), at_commit.deferred(conn, on_error=_HandlerFailed):
                    settled = await self._settle_fast(conn, records, letters)
                    await self._finish(conn, records, letters, keep_position=keep_position)  # the position: last
            except _HandlerFailed:
                # Some handler failed: settle this batch again record by record, counting its attempts.
                letters = []
                async with conn.transaction():
                    settled = [await self._settle_one(conn, record, letters) for record in records]
                    await self._finish(conn, records, letters, keep_position=keep_position)
        for record, reason in letters:
            metrics.RECORDS_REJECTED.labels(self.service, reason.code).inc()
            log.error(
                "event_dead_lettered",
                reason=reason.code,
                error=printable(reason.error)[:300],
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
            )
        return settled

    async def _finish(
        self,
        conn: Connection,
        records: Sequence[ConsumedRecord],
        letters: list[tuple[ConsumedRecord, DeadLetterReason]],
        *,
        keep_position: bool,
    ) -> None:
        await record_letters(conn, self.consumer, letters)
        if keep_position:
            await positions.save(conn, self.consumer, records)

    async def _settle_fast(
        self,
        conn: Connection,
        records: Sequence[ConsumedRecord],
        letters: list[tuple[ConsumedRecord, DeadLetterReason]],
    ) -> list[tuple[str, Outcome]]:
        """The common case in few statements: every event id recorded by one INSERT, handlers without a
        savepoint each.  Any handler failure aborts the pass (`_HandlerFailed`)."""
        settled: list[tuple[str, Outcome]] = []
        todo: list[tuple[int, ConsumedRecord, Accepted]] = []
        for record in records:
            kind = classify(record, self._routes, self._uow.topic_of)
            if isinstance(kind, Rejected):
                letters.append((record, kind.reason))
                settled.append((kind.event_type, Outcome.DEAD_LETTERED))
                continue
            todo.append((len(settled), record, kind))
            settled.append((kind.event.type, Outcome.APPLIED))  # until found otherwise below
        fresh = await inbox_rows.record_all(conn, self.consumer, [(a, r) for _, r, a in todo])
        seen: dict[str, bytes] = {}
        repeated = [str(a.event.id) for _, _, a in todo if str(a.event.id) not in fresh]
        stored = await inbox_rows.stored_digests(conn, self.consumer, repeated)
        run: list[Accepted] = []  # new events in a row for one batch handler, handed to it together
        for i, record, accepted in todo:
            event = accepted.event
            event_id = str(event.id)
            first = seen.get(event_id)
            if first is None and event_id in fresh:
                seen[event_id] = accepted.digest
                if run and run[0].handler is not accepted.handler:
                    await self._run_many(conn, run)
                    run = []
                if isinstance(accepted.handler, BatchHandler):
                    run.append(accepted)
                else:
                    await self._run_fast(conn, accepted)
                continue
            earlier = first if first is not None else stored.get(event_id)
            if earlier is not None and earlier != accepted.digest:
                letters.append((record, conflict(event)))
                settled[i] = (event.type, Outcome.DEAD_LETTERED)
            else:
                settled[i] = (event.type, Outcome.DUPLICATE)
        if run:
            await self._run_many(conn, run)
        for _, record, _ in todo:
            self._failures.pop((record.topic, record.partition, record.offset), None)
        return settled

    async def _run_fast(self, conn: Connection, accepted: Accepted) -> None:
        event = accepted.event
        with _event_log_context(event), telemetry.handling(event, self._uow.topic_of(event.type)) as traceparent:
            tx = self._uow.tx(conn, _context(self.service, event, traceparent))
            try:
                await accepted.handler(event, tx)
                await tx.flush()
            except _RETRYABLE:
                raise
            except Exception as exc:
                raise _HandlerFailed from exc

    async def _run_many(self, conn: Connection, run: Sequence[Accepted]) -> None:
        """A run of new events for one batch handler: each its own Tx (its own ids, causation and trace), one
        call.  Its log lines name the type and the run's size; a failure settles the batch record by record,
        where each event is logged on its own."""
        handler = run[0].handler
        if not isinstance(handler, BatchHandler):  # only BatchHandler events are collected into runs
            raise TypeError(f"{handler!r} is not a batch handler")
        event_type = run[0].event.type
        topic = self._uow.topic_of(event_type)
        with contextlib.ExitStack() as scope:
            scope.enter_context(bind_context(event_type=event_type, run_events=len(run)))
            items: list[tuple[Event[Any], Tx]] = []
            for accepted in run:
                traceparent = scope.enter_context(telemetry.handling(accepted.event, topic))
                context = _context(self.service, accepted.event, traceparent)
                items.append((accepted.event, self._uow.tx(conn, context)))
            try:
                await handler.many(items)
                for _, tx in items:
                    await tx.flush()
            except _RETRYABLE:
                raise
            except Exception as exc:
                raise _HandlerFailed from exc

    async def _settle_one(
        self,
        conn: Connection,
        record: ConsumedRecord,
        letters: list[tuple[ConsumedRecord, DeadLetterReason]],
        *,
        attempts_left: bool = True,
    ) -> tuple[str, Outcome]:
        kind = classify(record, self._routes, self._uow.topic_of)
        if isinstance(kind, Rejected):
            letters.append((record, kind.reason))
            return kind.event_type, Outcome.DEAD_LETTERED
        event = kind.event
        where = (record.topic, record.partition, record.offset)
        with _event_log_context(event), telemetry.handling(event, record.topic) as traceparent:
            try:
                # A savepoint: this event's effects or none of them (its audit and outbox rows included).
                async with db.savepoint(conn), at_commit.deferred(conn):
                    if not await inbox_rows.record(conn, self.consumer, kind, record):
                        digests = await inbox_rows.stored_digests(conn, self.consumer, [str(event.id)])
                        stored = digests.get(str(event.id))
                        if stored is not None and stored != kind.digest:
                            letters.append((record, conflict(event)))
                            return event.type, Outcome.DEAD_LETTERED
                        return event.type, Outcome.DUPLICATE
                    tx = self._uow.tx(conn, _context(self.service, event, traceparent))
                    await kind.handler(event, tx)
                    await tx.flush()
            except _RETRYABLE:
                raise
            except Exception as exc:
                metrics.HANDLER_ERRORS.labels(self.service, event.type, "permanent").inc()
                attempts = self._failures.get(where, 0) + 1
                self._failures[where] = attempts
                log.exception("event_handler_failed", attempts=attempts)
                if attempts_left and attempts < self._max_attempts:
                    raise _RetryBatch(exc) from exc
                self._failures.pop(where, None)
                letters.append((record, DeadLetterReason("handler_failed", f"{type(exc).__name__}: {exc}")))
                return event.type, Outcome.DEAD_LETTERED
        self._failures.pop(where, None)
        return event.type, Outcome.APPLIED

    async def _back_off(self, exc: BaseException) -> Outcome:
        delay = self._next_delay()
        log.warning("event_retry", error=f"{type(exc).__name__}: {printable(str(exc))[:200]}", retry_in=round(delay, 2))
        await asyncio.sleep(delay)
        return Outcome.RETRY


def _context(service: str, event: Event[Any], traceparent: str | None) -> EventContext:
    return EventContext(
        event.correlationid,
        causation_id=str(event.id),
        traceparent=traceparent,
        id_seed=f"{service}:event:{event.id}",
    )


def _event_log_context(event: Event[Any]) -> Any:
    return bind_context(
        event_id=str(event.id),
        event_type=event.type,
        correlation_id=event.correlationid,
        trace_id=trace_id_of(event.traceparent),
    )


class _HandlerFailed(Exception):
    """A handler raised during the fast pass: its effects are rolled back and the batch is settled slowly."""


class _RetryBatch(Exception):
    """A handler failed but has attempts left: roll the batch back and read it again after a backoff."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


_RETRYABLE: tuple[type[Exception], ...] = TRANSIENT_DB_ERRORS
