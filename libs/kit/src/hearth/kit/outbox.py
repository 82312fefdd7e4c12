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
from .chain import Chain
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
    """Insert (event, topic) pairs, in order, after locking their keys: one statement."""
    if not staged:
        return
    chain = Chain()
    add_to(chain, staged)
    with span(staged):
        await conn.execute(chain.sql(), *chain.args)


def span(staged: Sequence[tuple[Event[Any], str]]) -> Any:
    """The trace span of the statement that writes `staged` (with the transaction's other held-back writes)."""
    return telemetry.child_span("outbox stage", lambda: {"hearth.event_types": sorted({e.type for e, _ in staged})})


def add_to(chain: Chain, staged: Sequence[tuple[Event[Any], str]]) -> None:
    """The writes of `staged` as parts of `chain`: their keys locked, then their rows inserted."""
    # Sorted keys, locked in array order: two transactions locking the same keys cannot deadlock.  The
    # notification is delivered at commit only (once: identical ones of a transaction are folded into one), so the
    # relay wakes exactly when there is something visible to send.
    keys = chain.param(sorted({e.partitionkey for e, _ in staged}), "text[]")
    chain.add(
        "locked",
        f"SELECT pg_advisory_xact_lock(hashtext('hearth_outbox:' || k)), pg_notify('{CHANNEL}', '')"
        f" FROM unnest({keys}) AS k{chain.gate()}",
    )
    # Every key is locked before the first id is drawn, so a key's ids follow its commit order (the module's
    # docstring); ids are drawn in the staged order.
    rows = ", ".join(
        (
            chain.param([e.id for e, _ in staged], "uuid[]"),
            chain.param([topic for _, topic in staged], "text[]"),
            chain.param([e.partitionkey for e, _ in staged], "text[]"),
            chain.param([e.type for e, _ in staged], "text[]"),
            chain.param([e.to_json() for e, _ in staged], "bytea[]"),
        )
    )
    headers = chain.param(orjson.dumps(CONTENT_TYPE_HEADER).decode(), "jsonb")
    chain.add(
        "staged",
        "INSERT INTO hearth_outbox (event_id, topic, key, event_type, payload, headers)"
        f" SELECT r.e, r.t, r.k, r.y, r.p, {headers} FROM unnest({rows}) WITH ORDINALITY AS r(e, t, k, y, p, n)"
        f"{chain.gate()} ORDER BY r.n RETURNING 1",
    )
