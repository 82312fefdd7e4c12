"""Running a trigger in a unit of work: open the transaction, call the handler, flush what it staged, commit;
the whole of it again on a transient fault."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from hearth.contracts import topic_for

from . import at_commit
from .clock import Clock, SystemClock
from .context import EventContext
from .db import Connection, retry_transient
from .tx import Tx

T = TypeVar("T")


class UnitOfWork:
    def __init__(self, pool: asyncpg.Pool, service: str, clock: Clock | None = None, *, topic_prefix: str = "") -> None:
        self.pool = pool
        self.service = service
        self.clock = clock or SystemClock()
        self.topic_prefix = topic_prefix

    def topic_of(self, event_type: str) -> str:
        """The topic an event type travels on; a prefix isolates environments (and tests) sharing a cluster."""
        return self.topic_prefix + topic_for(event_type)

    async def once(self, fn: Callable[[Tx], Awaitable[T]], context: EventContext) -> T:
        """One attempt: the caller decides what a transient failure means (retry, nack, 503)."""
        # Audit and outbox rows go last (at_commit.py): their locks are then held only until the COMMIT.
        async with self.pool.acquire() as conn, conn.transaction(), at_commit.deferred(conn):
            tx = self.tx(conn, context)
            result = await fn(tx)
            await tx.flush()
            return result

    def tx(self, conn: Connection, context: EventContext) -> Tx:
        return Tx(conn=conn, now=self.clock.now(), service=self.service, context=context, topic_of=self.topic_of)

    async def run(
        self, fn: Callable[[Tx], Awaitable[T]], context: EventContext, *, give_up_after: float | None = 30.0
    ) -> T:
        return await retry_transient(lambda: self.once(fn, context), give_up_after=give_up_after)
