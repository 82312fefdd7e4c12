"""Durable timers: SQL on the timer table.  The poller that fires them is in `timer_poller.py`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from .db import Connection, RowsBusy


@dataclass(frozen=True)
class DueTimer:
    key: str
    kind: str
    due_at: datetime
    payload: dict[str, Any]
    correlation_id: str | None
    attempts: int


@dataclass(frozen=True)
class TimerRow:
    """A timer as a unit of work sets it."""

    key: str
    kind: str
    due_at: datetime
    payload: dict[str, Any]


async def schedule_all(conn: Connection, rows: Sequence[TimerRow], correlation_id: str | None) -> None:
    """Set (or move) every timer of `rows` in one statement; keys must be distinct (ON CONFLICT cannot update
    one row twice in a statement).  A moved timer starts again: no attempts, no error."""
    if not rows:
        return
    await conn.execute(
        "INSERT INTO hearth_timers (key, kind, due_at, payload, correlation_id)"
        " SELECT k, t, d, p::jsonb, $5 FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[])"
        " AS u(k, t, d, p)"
        " ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at,"
        " payload = excluded.payload, correlation_id = excluded.correlation_id, attempts = 0, last_error = NULL",
        [r.key for r in rows],
        [r.kind for r in rows],
        [r.due_at for r in rows],
        [orjson.dumps(r.payload).decode() for r in rows],
        correlation_id,
    )


# A key starts with a prefix exactly when it lies in the prefix's range in code-point order, which is the order of
# UTF-8 bytes, the order of the "C" collation and of the index hearth_timers_key_c (kit migration 0013): a range
# per prefix reads only the matching keys, where starts_with() or a LIKE with a parameter as its pattern reads every
# pending timer.  A prefix with no upper bound (empty, or only U+10FFFF) runs to the end of the key order; its
# bound is the largest key plus one character, taken in the statement's own snapshot.
_IN_RANGE = (
    't.key COLLATE "C" >= r.low AND t.key COLLATE "C" < COALESCE(r.high,'
    " (SELECT max(key COLLATE \"C\") || '.' FROM hearth_timers))"
)
_RANGES = "unnest($1::text[], $2::text[]) AS r(low, high)"

CANCEL_PREFIXES = f"DELETE FROM hearth_timers t USING {_RANGES} WHERE {_IN_RANGE}"
# How many of the matching timers could NOT be locked: all of them are locked when it returns 0.  SKIP LOCKED,
# because a transaction that waits for one timer of a group while holding others deadlocks with the poller: the
# poller holds the timer it claimed (the close timer) and its handler then cancels the whole group.
LOCK_PREFIXES = (
    f"SELECT (SELECT count(*) FROM {_RANGES} JOIN hearth_timers t ON {_IN_RANGE})"
    f" - (SELECT count(*) FROM (SELECT 1 FROM {_RANGES} JOIN hearth_timers t ON {_IN_RANGE}"
    " ORDER BY t.key FOR UPDATE OF t SKIP LOCKED) AS locked)"
)

_LAST_CODE_POINT = "\U0010ffff"
_SURROGATES = range(0xD800, 0xE000)  # not characters: UTF-8 (and so a Postgres text) cannot hold them


def prefix_range(prefix: str) -> tuple[str, str | None]:
    """`(low, high)`: the strings that start with `prefix` are exactly those `>= low` and `< high` in code-point
    order; `high` is None when no string bounds them (the prefix is empty or only U+10FFFF)."""
    stem = prefix.rstrip(_LAST_CODE_POINT)  # the last code point has no successor: bound by the stem's instead
    if not stem:
        return prefix, None
    following = ord(stem[-1]) + 1
    if following in _SURROGATES:
        following = _SURROGATES.stop
    return prefix, stem[:-1] + chr(following)


def prefix_bounds(prefixes: Sequence[str]) -> tuple[list[str], list[str | None]]:
    """The parameters of CANCEL_PREFIXES and LOCK_PREFIXES: the lows and the highs of the prefixes' ranges."""
    ranges = [prefix_range(p) for p in dict.fromkeys(prefixes)]
    return [low for low, _ in ranges], [high for _, high in ranges]


async def cancel_prefixes(conn: Connection, prefixes: Sequence[str]) -> None:
    if prefixes:
        await conn.execute(CANCEL_PREFIXES, *prefix_bounds(prefixes))


async def lock_prefixes(conn: Connection, prefixes: Sequence[str]) -> None:
    """Lock every timer whose key starts with one of `prefixes` (a full key is its own prefix), all or none:
    when another transaction holds one of them (the poller firing it), raise `RowsBusy` — a transient error, so
    the unit of work is rolled back, which lets go of the ones it got, and runs again once the holder is done."""
    if prefixes and await conn.fetchval(LOCK_PREFIXES, *prefix_bounds(prefixes)):
        raise RowsBusy(f"timers starting with {', '.join(map(repr, prefixes))} are held by another transaction")


async def claim_due(conn: Connection, now: datetime, limit: int) -> list[DueTimer]:
    """Lock due timers for this transaction; another poller skips them instead of waiting or firing twice."""
    rows = await conn.fetch(
        "SELECT key, kind, due_at, payload, correlation_id, attempts FROM hearth_timers"
        " WHERE due_at <= $1 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        now,
        limit,
    )
    return [
        DueTimer(r["key"], r["kind"], r["due_at"], orjson.loads(r["payload"]), r["correlation_id"], r["attempts"])
        for r in rows
    ]


async def delete(conn: Connection, key: str) -> None:
    await conn.execute("DELETE FROM hearth_timers WHERE key = $1", key)


async def delete_all(conn: Connection, keys: Sequence[str]) -> None:
    if keys:
        await conn.execute("DELETE FROM hearth_timers WHERE key = ANY($1::text[])", list(keys))


async def postpone(conn: Connection, key: str, due_at: datetime, error: str) -> None:
    await conn.execute(
        "UPDATE hearth_timers SET due_at = $2, attempts = attempts + 1, last_error = $3 WHERE key = $1",
        key,
        due_at,
        error[:500],
    )


async def next_due(conn: Connection) -> datetime | None:
    due: datetime | None = await conn.fetchval("SELECT min(due_at) FROM hearth_timers")
    return due


async def pending_count(conn: Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM hearth_timers"))
