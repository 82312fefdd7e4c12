"""Staging events in the transaction that caused them.

Rows are published in id order.  For one key, id order must equal commit order, so each staging transaction
takes a transaction-scoped advisory lock on the key before drawing ids: a second transaction staging for the same
patient waits until the first commits, and so draws a higher id only after the lower one is visible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson

from hearth.contracts import Event, topic_for

from . import at_commit, telemetry
from .db import Connection

CHANNEL = "hearth_outbox"
CONTENT_TYPE_HEADER = {"content-type": "application/cloudevents+json"}


async def stage(conn: Connection, events: Sequence[Event[Any]], topic_of: Callable[[str], str] = topic_for) -> None:
    staged = [(e, topic_of(e.type)) for e in events]
    pending = at_commit.pending_for(conn)
    if pending is not None:  # written at the end of the transaction (at_commit.py)
        pending.outbox.extend(staged)
    else:
        await write(conn, staged)


async def write(conn: Connection, staged: Sequence[tuple[Event[Any], str]]) -> None:
    """Insert (event, topic) pairs, in order, after locking their keys."""
    if not staged:
        return
    with telemetry.child_span("outbox stage", lambda: {"hearth.event_types": sorted({e.type for e, _ in staged})}):
        await _write(conn, staged)


async def _write(conn: Connection, staged: Sequence[tuple[Event[Any], str]]) -> None:
    # Sorted keys, locked in array order by one statement: two transactions locking the same keys cannot deadlock.
    # The notification is delivered at commit only (once: identical ones of a transaction are folded into one),
    # so the relay wakes exactly when there is something visible to send.
    await conn.execute(
        f"SELECT pg_advisory_xact_lock(hashtext('hearth_outbox:' || k)), pg_notify('{CHANNEL}', '')"
        " FROM unnest($1::text[]) AS k",
        sorted({e.partitionkey for e, _ in staged}),
    )
    headers = orjson.dumps(CONTENT_TYPE_HEADER).decode()
    await conn.executemany(
        "INSERT INTO hearth_outbox (event_id, topic, key, event_type, payload, headers)"
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
        [(e.id, topic, e.partitionkey, e.type, e.to_json(), headers) for e, topic in staged],
    )
