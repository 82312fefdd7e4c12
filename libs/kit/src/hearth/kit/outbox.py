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

from . import telemetry
from .db import Connection

CHANNEL = "hearth_outbox"
CONTENT_TYPE_HEADER = {"content-type": "application/cloudevents+json"}


async def stage(conn: Connection, events: Sequence[Event[Any]], topic_of: Callable[[str], str] = topic_for) -> None:
    with telemetry.span("outbox stage", attributes={"hearth.event_types": sorted({e.type for e in events})}):
        await _stage(conn, events, topic_of)


async def _stage(conn: Connection, events: Sequence[Event[Any]], topic_of: Callable[[str], str]) -> None:
    # Sorted keys: two transactions locking the same pair of keys cannot deadlock.
    for key in sorted({e.partitionkey for e in events}):
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('hearth_outbox:' || $1))", key)
    await conn.executemany(
        "INSERT INTO hearth_outbox (event_id, topic, key, event_type, payload, headers)"
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
        [
            (
                e.id,
                topic_of(e.type),
                e.partitionkey,
                e.type,
                e.to_json(),
                orjson.dumps(CONTENT_TYPE_HEADER).decode(),
            )
            for e in events
        ],
    )
    # Delivered at commit only, so the relay wakes exactly when there is something visible to send.
    await conn.execute(f"NOTIFY {CHANNEL}")
