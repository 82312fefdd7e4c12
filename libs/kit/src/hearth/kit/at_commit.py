"""Writes held back to the end of their transaction: the outbox's rows, an HTTP command's idempotency row and the
audit trail's rows.

The outbox and the audit trail take a lock that other transactions of the service then wait on until COMMIT:
the head of the audit chain (one lock for every change the service makes) and the key of each staged event.
Taken in the middle of a handler, they made every other request, batch and timer of the service wait for the
rest of that handler, or of a whole inbox batch: profiles of the journey showed most of a service's database
connections waiting on the audit lock while its holder waited for its own event loop.  Inside
`deferred(conn)`, `audit.append`, `outbox.stage`, `idempotency_rows.remember` and `positions.save` on `conn`
collect what they would write, and the scope writes it when it ends without an error, as the transaction's last
statement (chain.py runs its parts in order): the outbox rows, the idempotency row, the consumer's position,
then the audit rows.  The locks are
then held for two round trips, and always taken in one order (the event keys sorted, then the audit lock), so
two deferred transactions cannot deadlock on them.

A scope inside another on the same connection (around a savepoint) hands what it collected to the outer one
when it ends without an error and drops it when it ends with one, as its savepoint is rolled back.  Outside any
scope each writes at once.  What a transaction writes is unchanged: the same rows, in the same order,
in the same transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import audit, idempotency_rows, outbox
from .chain import Chain
from .db import Connection, is_transient

if TYPE_CHECKING:
    from hearth.contracts import Event


@dataclass
class Pending:
    conn: Connection
    audit: list[audit.Entry] = field(default_factory=list)
    outbox: list[tuple[Event[Any], str]] = field(default_factory=list)  # (event, topic)
    remembered: list[idempotency_rows.Remembered] = field(default_factory=list)
    parts: list[Callable[[Chain], None]] = field(default_factory=list)  # other writes (a consumer's position)
    open: bool = True


_CURRENT: ContextVar[Pending | None] = ContextVar("hearth_at_commit", default=None)


def pending_for(conn: Connection) -> Pending | None:
    """The open scope collecting writes on `conn`, if any."""
    pending = _CURRENT.get()
    if pending is None or pending.conn is not conn:
        return None
    if not pending.open:  # a task started inside a scope that has ended meanwhile
        raise RuntimeError("a write held back to the end of a transaction arrived after that transaction's end")
    return pending


@asynccontextmanager
async def deferred(conn: Connection, *, on_error: type[Exception] | None = None) -> AsyncIterator[Pending]:
    """Collect audit and outbox writes on `conn` until the scope ends, then write them (or hand them to the
    enclosing scope on the same connection).  `on_error`: raise a write's non-transient failure as this type
    (the inbox's fast pass, which then settles its records one by one)."""
    outer = pending_for(conn)
    pending = Pending(conn)
    token = _CURRENT.set(pending)
    try:
        yield pending
    finally:
        pending.open = False
        _CURRENT.reset(token)
    # Only reached without an error: a scope that raised drops what it collected with its savepoint.
    if outer is not None:
        outer.audit.extend(pending.audit)
        outer.outbox.extend(pending.outbox)
        outer.remembered.extend(pending.remembered)
        outer.parts.extend(pending.parts)
        return
    try:
        await write(conn, pending)
    except Exception as exc:
        if on_error is None or is_transient(exc):
            raise
        raise on_error(f"{type(exc).__name__}: {exc}") from exc


async def write(conn: Connection, pending: Pending) -> None:
    """The outbox rows, the idempotency row, then the audit rows: one statement (chain.py).  The keys first:
    their locks are per patient, the audit lock is the service's, so it goes last and is held for two round
    trips (this statement, the COMMIT)."""
    chain = Chain()
    if pending.outbox:
        outbox.add_to(chain, pending.outbox)
    if pending.remembered:
        idempotency_rows.add_to(chain, pending.remembered)
    for add in pending.parts:
        add(chain)
    final = audit.call(chain, pending.audit) if pending.audit else "1"
    if chain or pending.audit:
        with outbox.span(pending.outbox) if pending.outbox else nullcontext():
            await conn.execute(chain.sql(final), *chain.args)


async def write_last(conn: Connection, add: Callable[[Chain], None]) -> None:
    """A write to make with the transaction's last statement (`add` puts it in a chain: after the idempotency row,
    before the audit rows) when a scope is open on `conn`; at once otherwise."""
    pending = pending_for(conn)
    if pending is not None:
        pending.parts.append(add)
        return
    chain = Chain()
    add(chain)
    await conn.execute(chain.sql(), *chain.args)
