"""Fires due timers.  Each batch is one transaction: claim with SKIP LOCKED, then per timer a savepoint that
deletes the row, runs the handler and writes its events, so a timer fires exactly once across replicas and
restarts, and a failing handler postpones only its own timer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from . import metrics, timers
from .aio import sleep_or_stop
from .context import EventContext
from .db import TRANSIENT_DB_ERRORS, backoff_delays
from .logging import bind_context, get_logger
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
        async with uow.pool.acquire() as conn, conn.transaction():
            now = uow.clock.now()
            due = await timers.claim_due(conn, now, self._batch_size)
            for timer in due:
                await self._fire(conn, timer, now)
            return len(due)

    async def _fire(self, conn: Any, timer: timers.DueTimer, now: Any) -> None:
        route = self._routes.get(timer.kind)
        context = EventContext(
            correlation_id=timer.correlation_id or _as_identifier(timer.key),
            causation_id=_as_identifier(f"timer:{timer.key}"),
            id_seed=f"{self._uow.service}:timer:{timer.key}:{timer.due_at.isoformat()}",
        )
        with bind_context(timer_key=timer.key, correlation_id=context.correlation_id):
            if route is None:
                await timers.postpone(conn, timer.key, now + self._retry_after, f"no handler for {timer.kind}")
                log.error("timer_without_handler", kind=timer.kind)
                return
            started = asyncio.get_running_loop().time()
            try:
                async with conn.transaction():  # a savepoint: this timer's effects or none of them
                    await timers.delete(conn, timer.key)
                    tx = self._uow.tx(conn, context)
                    # The fact happens when it was due, however late the poller runs (a restart, a restore):
                    # the same timer fired again gives the same event, with the same id and the same payload.
                    tx.now = min(timer.due_at, now)
                    await route.handler(route.payload.model_validate(timer.payload), tx)
                    await tx.flush()
            except TRANSIENT_DB_ERRORS:
                raise
            except Exception as exc:
                metrics.HANDLER_ERRORS.labels(self._uow.service, timer.kind, "permanent").inc()
                log.exception("timer_handler_failed", kind=timer.kind, attempts=timer.attempts + 1)
                await timers.postpone(conn, timer.key, now + self._retry_after, f"{type(exc).__name__}: {exc}")
                return
            service = self._uow.service
            metrics.TIMERS_FIRED.labels(service, timer.kind).inc()
            metrics.TIMER_LATENESS.labels(service, timer.kind).observe(max(0.0, (now - timer.due_at).total_seconds()))
            metrics.HANDLER_LATENCY.labels(service, timer.kind).observe(asyncio.get_running_loop().time() - started)


def _as_identifier(text: str) -> str:
    """Event ids of correlation/causation are short identifiers; a long timer key is hashed into one."""
    return text if len(text) <= 64 else str(uuid.uuid5(uuid.NAMESPACE_URL, text))
