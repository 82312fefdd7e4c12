"""The tamper-evident audit log: append in the transaction of the change it records; verify the chain.

The hash covers the previous row's hash and this row's content in a canonical JSON form, so changing any field
of any row, deleting a row or reordering rows is found by `verify`.  Appends take a transaction-scoped advisory
lock so two transactions cannot both chain onto the same previous row.  A transaction's rows go in one call of
`audit.append_all()`, which takes the lock, reads the head and chains the rows onto it (hashing the same bytes as
`row_hash`); inside a unit of work or an inbox batch (`at_commit.deferred`) that call is the transaction's last
statement, so the lock every change of the service waits on is held for it and the COMMIT only.

The trail lives in `audit.trail`, owned by a role nobody logs in as (`sql/bootstrap/audit.sql`); the runtime
role reads it and appends only through `audit.append_all()` (which chains rows onto the head itself) and the older
`audit.append()` (which refuses a row that does not chain onto the head).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from . import at_commit
from .chain import Chain
from .db import Connection

GENESIS = "0" * 64


APPEND_ALL = "audit.append_all(timestamptz[], text[], text[], text[], jsonb[], bytea[])"


def row_hash(prev_hash: str, at: datetime, actor: str, action: str, entity: str, details: dict[str, Any]) -> str:
    canonical = orjson.dumps([prev_hash, at.isoformat(), actor, action, entity, details], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def canonical_rest(at: datetime, actor: str, action: str, entity: str, details: dict[str, Any]) -> bytes:
    """What `row_hash` hashes after `["<prev_hash>",`: the part of a row's canonical form known before the head
    is.  A hash is a hex string, which JSON writes as it is, so the whole is `b'["' + prev + b'",' + rest`."""
    return orjson.dumps([at.isoformat(), actor, action, entity, details], option=orjson.OPT_SORT_KEYS)[1:]


@dataclass(frozen=True)
class Entry:
    at: datetime
    actor: str
    action: str
    entity: str
    details: dict[str, Any]


async def append(
    conn: Connection,
    *,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Record `actor` did `action` to `entity`; call inside the transaction that makes the change."""
    entry = Entry(at, actor, action, entity, details or {})
    pending = at_commit.pending_for(conn)
    if pending is not None:
        pending.audit.append(entry)
    else:
        await write(conn, [entry])


async def write(conn: Connection, entries: Sequence[Entry]) -> None:
    """Chain `entries`, in order, onto the head of the trail: one round trip."""
    if not entries:
        return
    chain = Chain()
    await conn.execute(chain.sql(call(chain, entries)), *chain.args)


def call(chain: Chain, entries: Sequence[Entry]) -> str:
    """The call of `audit.append_all` that appends `entries`, its parameters added to `chain`."""
    values = (
        chain.param([e.at for e in entries], "timestamptz[]"),
        chain.param([e.actor for e in entries], "text[]"),
        chain.param([e.action for e in entries], "text[]"),
        chain.param([e.entity for e in entries], "text[]"),
        chain.param([orjson.dumps(e.details, option=orjson.OPT_SORT_KEYS).decode() for e in entries], "jsonb[]"),
        chain.param([canonical_rest(e.at, e.actor, e.action, e.entity, e.details) for e in entries], "bytea[]"),
    )
    return f"audit.append_all({', '.join(values)})"


async def missing_bootstrap(conn: Connection) -> str | None:
    """Why this database cannot take appends of this version (its audit bootstrap is older), or None."""
    if await conn.fetchval("SELECT to_regprocedure($1) IS NOT NULL", APPEND_ALL):
        return None
    return (
        f"the database has no {APPEND_ALL}: its audit bootstrap predates this version; run"
        " `hearth audit bootstrap` (or the administrator's bootstrap script) on it, then start again"
    )


@dataclass(frozen=True)
class BrokenLink:
    seq: int
    reason: str


async def verify(conn: Connection) -> tuple[int, BrokenLink | None]:
    """Walk the chain in order; returns the number of rows checked and the first broken link, if any."""
    prev = GENESIS
    checked = 0
    async with conn.transaction():
        async for r in conn.cursor("SELECT * FROM audit.trail ORDER BY seq"):
            checked += 1
            if r["prev_hash"] != prev:
                return checked, BrokenLink(
                    r["seq"], "prev_hash does not match the previous row (a row was removed or reordered)"
                )
            expected = row_hash(prev, r["at"], r["actor"], r["action"], r["entity"], orjson.loads(r["details"]))
            if r["hash"] != expected:
                return checked, BrokenLink(r["seq"], "content does not match its hash (the row was altered)")
            prev = r["hash"]
    return checked, None


async def entries(conn: Connection, entity: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT seq, at, actor, action, entity, details FROM audit.trail WHERE entity = $1 ORDER BY seq",
        entity,
    )
    return [dict(r) | {"details": orjson.loads(r["details"])} for r in rows]
