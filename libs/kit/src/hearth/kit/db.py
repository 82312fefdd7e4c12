"""The asyncpg pool and the one way to run a unit of work: a whole transaction, retried on transient faults."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

T = TypeVar("T")

# What a unit of work runs on: a plain connection or one borrowed from the pool.
if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection[Any] | PoolConnectionProxy[Any]
else:
    Connection = asyncpg.Connection | PoolConnectionProxy


class RowsBusy(Exception):
    """Rows a transaction must hold all of before it goes on were partly held by another transaction: it took
    none of them (waiting while holding some is how two transactions deadlock), so running it again is safe."""


# Errors that mean "the database (or the path to it) is unavailable right now": the transaction never
# committed, so running the whole of it again is safe.  A single statement is never retried on its own.
TRANSIENT_DB_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    RowsBusy,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.InterfaceError,
    ConnectionError,
    OSError,
    TimeoutError,
)


@asynccontextmanager
async def savepoint(conn: Connection) -> AsyncIterator[None]:
    """This part of the transaction or none of it (a nested `conn.transaction()`), always under the same name.

    asyncpg gives each nested transaction a new name (`__asyncpg_savepoint_<n>__`), and to pg_stat_statements
    every new text is a new statement: taken once per batch, they filled its table within seconds, and each new
    entry and each eviction takes its lock exclusively while every backend's statements need it.  Savepoints of
    one name nest and follow one another like any others (each RELEASE or ROLLBACK TO acts on the newest)."""
    await conn.execute("SAVEPOINT hearth_part")
    try:
        yield
    except BaseException:
        await conn.execute("ROLLBACK TO SAVEPOINT hearth_part; RELEASE SAVEPOINT hearth_part")
        raise
    await conn.execute("RELEASE SAVEPOINT hearth_part")


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT_DB_ERRORS)


async def _keep_session(conn: asyncpg.Connection[Any]) -> None:
    """What a pooled connection gets on its way back besides asyncpg's own clean-up (an open transaction rolled
    back, listeners dropped): nothing.  The default, a round trip of four statements (RESET ALL, UNLISTEN *, CLOSE
    ALL, unlock all advisory locks) at every release, was one in eleven of a service's round trips in the journey
    (bench/PROFILE.md).  It is safe because nothing sets session state on a pooled connection: no SET outside a
    transaction's SET LOCAL, no LISTEN, no session advisory lock (the relay and the migrations use connections of
    their own), no cursor outside a transaction — `test_pool_connections_carry_no_session_state` holds the kit
    to it."""


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool that waits for the database rather than failing the process at start-up."""
    delay = 0.2
    while True:
        try:
            pool: asyncpg.Pool = await asyncpg.create_pool(
                dsn, min_size=min_size, max_size=max_size, command_timeout=30, reset=_keep_session
            )
            return pool
        except TRANSIENT_DB_ERRORS:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def backoff_delays(initial: float = 0.1, cap: float = 5.0) -> Callable[[], float]:
    """Exponential backoff with full jitter, so replicas do not retry in lockstep."""
    state = {"next": initial}

    def next_delay() -> float:
        current = state["next"]
        state["next"] = min(current * 2, cap)
        return random.uniform(current / 2, current)

    return next_delay


async def retry_transient(
    attempt: Callable[[], Awaitable[T]],
    *,
    give_up_after: float | None = None,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> T:
    """Run `attempt` until it succeeds or fails with a non-transient error (or the deadline passes)."""
    loop = asyncio.get_running_loop()
    deadline = None if give_up_after is None else loop.time() + give_up_after
    next_delay = backoff_delays()
    while True:
        try:
            return await attempt()
        except TRANSIENT_DB_ERRORS as exc:
            delay = next_delay()
            if deadline is not None and loop.time() + delay > deadline:
                raise
            if on_retry is not None:
                on_retry(exc, delay)
            await asyncio.sleep(delay)
