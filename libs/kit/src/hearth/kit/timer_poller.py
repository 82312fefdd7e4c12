"""Fires due timers.  Each batch is one transaction: claim with SKIP LOCKED, delete the claimed rows, run every
handler and write what it staged, commit — so a timer fires exactly once across replicas and restarts.  A
handler that fails sends its batch round again timer by timer, each in a savepoint, so it postpones only its
own timer; a transient database fault rolls the whole batch back for the run loop's backoff."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from . import at_commit, db, metrics, telemetry, timers
from .aio import sleep_or_stop
from .context import EventContext
from .db import TRANSIENT_DB_ERRORS, Connection, backoff_delays
from .logging import bind_context, get_logger
from .tracing import current_traceparent
from .tx import TimerPayload, Tx
from .uow import UnitOfWork

log = get_logger(__name__)

TimerHandler = Callable[[Any, Tx], Awaitable[None]]


@dataclass(frozen=True)
class TimerRoute:
    payload: type[TimerPayload]
    handler: TimerHandler


def timer_routes(*pairs: tuple[type[TimerPayload], TimerHandler]) -> dict[str, TimerRoute]:
    return {payload.kind: TimerRoute(payload, handler) for payload, handler in pairs}


class TimerPoller:
    def __init__(
        self,
        uow: UnitOfWork,
        routes: dict[str, TimerRoute],
        *,
        interval: float = 0.5,
        batch_size: int = 100,
        retry_after: timedelta = timedelta(seconds=30),
    ) -> None:
        self._uow = uow
        self._routes = routes
        self._interval = interval
        self._batch_size = batch_size
        self._retry_after = retry_after

    async def run(self, stop: asyncio.Event) -> None:
        next_delay = backoff_delays()
        while not stop.is_set():
            try:
                fired = await self.fire_due()
                next_delay = backoff_delays()
                if fired < self._batch_size:
                    await sleep_or_stop(stop, await self._until_next_due())
            except TRANSIENT_DB_ERRORS as exc:
                log.warning("timer_poller_retry", error=type(exc).__name__)
                await sleep_or_stop(stop, next_delay())
            except Exception:
                log.exception("timer_poller_failed")
                await sleep_or_stop(stop, next_delay())

    async def _until_next_due(self) -> float:
        """Sleep until the earliest pending timer is due, but never longer than the poll interval (a timer
        scheduled meanwhile, by this or another replica, is then found within one interval)."""
        async with self._uow.pool.acquire() as conn:
            next_due = await timers.next_due(conn)
        if next_due is None:
            return self._interval
        # A due timer that was not claimed is being fired by another replica: a short pause, not a busy loop.
        return min(self._interval, max(0.01, (next_due - self._uow.clock.now()).total_seconds()))

    async def fire_due(self) -> int:
        """Fire one batch of due timers; returns how many were claimed."""
        uow = self._uow
        async with uow.pool.acquire() as conn:
            async with conn.transaction():
                now = uow.clock.now()
                # Locked until this transaction ends: another replica skips them instead of firing them too.
                due = await timers.claim_due(conn, now, self._batch_size)
                routed = []
                for timer in due:
                    route = self._routes.get(timer.kind)
                    if route is None:
                        await self._postpone(conn, timer, now, f"no handler for {timer.kind}")
                        with self._log_context(timer):
                            log.error("timer_without_handler", kind=timer.kind)
                    else:
                        routed.append((timer, route))
                fired = await self._fire_all(conn, routed, now)
            self._count(fired, now)
            return len(due)

    def _count(self, fired: list[tuple[timers.DueTimer, float]], now: datetime) -> None:
        """Metrics of a committed batch (a batch rolled back fired nothing), each timer observed on its own."""
        service = self._uow.service
        for kind in {timer.kind for timer, _ in fired}:
            of_kind = [(timer, latency) for timer, latency in fired if timer.kind == kind]
            metrics.TIMERS_FIRED.labels(service, kind).inc(len(of_kind))
            lateness = metrics.TIMER_LATENESS.labels(service, kind)
            handler_latency = metrics.HANDLER_LATENCY.labels(service, kind)
            for timer, latency in of_kind:
                lateness.observe(max(0.0, (now - timer.due_at).total_seconds()))
                handler_latency.observe(latency)

    async def _fire_all(
        self, conn: Connection, routed: list[tuple[timers.DueTimer, TimerRoute]], now: datetime
    ) -> list[tuple[timers.DueTimer, float]]:
        """The common case in few statements: every claimed row deleted by one DELETE, the handlers run one after
        another without a savepoint each.  A handler that fails rolls that pass back, and the batch is fired
        again timer by timer, each in a savepoint, so the failing timer is postponed and the others fire."""
        if not routed:
            return []
        try:
            # A savepoint around the fast pass; the batch's audit and outbox rows are written at its end
            # (at_commit.py), so their locks are held from there to the COMMIT, not for the whole batch.
            async with db.savepoint(conn), at_commit.deferred(conn, on_error=_HandlerFailed):
                # Deleted before any handler runs, so a handler that sets its own timer again keeps the new one.
                await timers.delete_all(conn, [timer.key for timer, _ in routed])
                return [(timer, await self._run_fast(conn, timer, route, now)) for timer, route in routed]
        except _HandlerFailed:
            fired = []
            for timer, route in routed:
                latency = await self._fire_one(conn, timer, route, now)
                if latency is not None:
                    fired.append((timer, latency))
            return fired

    async def _run_fast(self, conn: Connection, timer: timers.DueTimer, route: TimerRoute, now: datetime) -> float:
        with self._log_context(timer):
            try:
                return await self._run(conn, timer, route, now)
            except TRANSIENT_DB_ERRORS:
                raise
            except Exception as exc:
                raise _HandlerFailed from exc

    async def _fire_one(
        self, conn: Connection, timer: timers.DueTimer, route: TimerRoute, now: datetime
    ) -> float | None:
        """One timer in a savepoint: its effects and its deletion, or neither and the timer postponed."""
        with self._log_context(timer):
            try:
                async with db.savepoint(conn), at_commit.deferred(conn):  # its audit and outbox rows included
                    await timers.delete(conn, timer.key)
                    return await self._run(conn, timer, route, now)
            except TRANSIENT_DB_ERRORS:
                raise
            except Exception as exc:
                metrics.HANDLER_ERRORS.labels(self._uow.service, timer.kind, "permanent").inc()
                log.exception("timer_handler_failed", kind=timer.kind, attempts=timer.attempts + 1)
                await self._postpone(conn, timer, now, f"{type(exc).__name__}: {exc}")
                return None

    async def _run(self, conn: Connection, timer: timers.DueTimer, route: TimerRoute, now: datetime) -> float:
        """Run the timer's handler and write what it staged; returns the seconds it took."""
        started = asyncio.get_running_loop().time()
        # A timer is a cause of its own: a root span, and the trace of the events it emits.
        with telemetry.span(f"timer {timer.kind}", attributes={"hearth.timer_key": timer.key}):
            tx = self._uow.tx(conn, self._context(timer))
            # The fact happens when it was due, however late the poller runs (a restart, a restore): the same
            # timer fired again gives the same event, with the same id and the same payload.
            tx.now = min(timer.due_at, now)
            await route.handler(route.payload.model_validate(timer.payload), tx)
            await tx.flush()
        return asyncio.get_running_loop().time() - started

    async def _postpone(self, conn: Connection, timer: timers.DueTimer, now: datetime, error: str) -> None:
        await timers.postpone(conn, timer.key, now + self._retry_after, error)

    def _context(self, timer: timers.DueTimer) -> EventContext:
        return EventContext(
            correlation_id=timer.correlation_id or _as_identifier(timer.key),
            causation_id=_as_identifier(f"timer:{timer.key}"),
            id_seed=f"{self._uow.service}:timer:{timer.key}:{timer.due_at.isoformat()}",
            traceparent=current_traceparent() if telemetry.current_tracer() else None,  # the timer's span
        )

    @staticmethod
    def _log_context(timer: timers.DueTimer) -> Any:
        return bind_context(timer_key=timer.key, correlation_id=timer.correlation_id or _as_identifier(timer.key))


class _HandlerFailed(Exception):
    """A handler raised during the fast pass: its effects are rolled back and the batch is fired timer by timer."""


def _as_identifier(text: str) -> str:
    """Event ids of correlation/causation are short identifiers; a long timer key is hashed into one."""
    return text if len(text) <= 64 else str(uuid.uuid5(uuid.NAMESPACE_URL, text))
