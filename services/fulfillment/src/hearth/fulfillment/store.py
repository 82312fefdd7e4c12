"""SQL on the service's own tables: orders and their boxes, revocation tombstones, dose uses."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from hearth.kit.db import Connection

from . import vault
from .model import Box, Destination, Order

_ORDER_COLUMNS = (
    "order_id", "approval_id", "patient_id", "plan", "dose_count", "patient_state", "prescriber_license_state",
    "created_at", "doses_used", "revoked_at", "revocation_reason", "cancelled_at", "cancel_reason", "flags",
    "issued_at", "resupply_refusal",
)  # fmt: skip
_CHANGING = (
    "doses_used", "revoked_at", "revocation_reason", "cancelled_at", "cancel_reason", "flags", "resupply_refusal",
    "status",
)  # fmt: skip
_BOX_COLUMNS = (
    "number", "doses", "state", "carrier", "tracking_number", "ship_to_state", "created_at", "packed_at",
    "shipped_at", "delivered_at", "returned_at", "lost_at", "cancelled_at",
)  # fmt: skip


async def lock_approval(conn: Connection, approval_id: str) -> None:
    """Serialises everything done for one approval (its approval, revocation and sessions arrive on different
    topics, possibly at different replicas), until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('fulfillment.approval:' || $1, 0))", approval_id)


async def load(conn: Connection, order_id: str, *, lock: bool = False) -> Order | None:
    row = await conn.fetchrow("SELECT * FROM orders WHERE order_id = $1" + (" FOR UPDATE" if lock else ""), order_id)
    return None if row is None else await _with_boxes(conn, row)


async def load_for_change(conn: Connection, order_id: str) -> tuple[Order, Destination] | None:
    """The order, locked until the transaction ends, with its boxes and where it ships: two statements, the
    lock first (a read in the locking statement would see the boxes as they were before it waited for the lock)."""
    row = await conn.fetchrow("SELECT * FROM orders WHERE order_id = $1 FOR UPDATE", order_id)
    if row is None:
        return None
    (rest,) = await conn.fetch(  # always one row: no FROM
        f"SELECT {_BOXES_OF.format('$1')} AS boxes, {vault.DESTINATION.format('$1')} AS d", order_id
    )
    return _order(row, _boxes_of(rest["boxes"])), vault.destination_of(rest["d"])


async def load_by_approval(conn: Connection, approval_id: str) -> Order | None:
    row = await conn.fetchrow("SELECT * FROM orders WHERE approval_id = $1 FOR UPDATE", approval_id)
    return None if row is None else await _with_boxes(conn, row)


async def save(conn: Connection, order: Order, now: datetime) -> None:
    """Inserts or updates the order and its boxes, in one statement. A second order for one approval violates a
    unique key."""
    values = [getattr(order, c) for c in _ORDER_COLUMNS]
    first_box = len(values) + 3
    await conn.execute(
        f"WITH saved AS ({_SAVE_ORDER}) {_SAVE_BOXES.format(*(f'${first_box + i}' for i in range(len(_BOX_TYPES))))}",
        *[list(v) if isinstance(v, tuple) else v for v in values],
        order.status,
        now,
        order.order_id,
        *([getattr(b, c) for b in order.boxes] for c in _BOX_COLUMNS),
    )


_SAVE_ORDER = (
    f"INSERT INTO orders ({', '.join(_ORDER_COLUMNS)}, status, updated_at)"
    f" VALUES ({', '.join(f'${i}' for i in range(1, len(_ORDER_COLUMNS) + 3))})"
    f" ON CONFLICT (order_id) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in (*_CHANGING, 'updated_at'))}"
)
_BOX_TYPES = ("text", *("int", "int", "text", "text", "text", "text"), *("timestamptz",) * 7)
# Every box's columns as one array each ({0} is the order id); the order's row, referenced by the boxes, is
# inserted by the same statement, which the foreign key's check (run at its end) sees.
_SAVE_BOXES = (
    f"INSERT INTO order_boxes (order_id, box_number, {', '.join(_BOX_COLUMNS[1:])})"
    " SELECT {0}::text, b.* FROM unnest("
    + ", ".join(f"{{{i + 1}}}::{t}[]" for i, t in enumerate(_BOX_TYPES[1:]))
    + ") AS b"
    " ON CONFLICT (order_id, box_number) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _BOX_COLUMNS if c not in ("number", "doses", "created_at"))
)


async def find(
    conn: Connection,
    *,
    patient_id: str | None,
    flagged: bool | None,
    status: str | None,
    limit: int,
    offset: int,
) -> list[tuple[Order, Destination]]:
    """The orders that match, oldest first, each with its boxes and where it ships: one statement."""
    rows = await conn.fetch(
        f"SELECT o.*, {_BOXES_OF.format('o.order_id')} AS boxes, {vault.DESTINATION.format('o.order_id')} AS d"
        " FROM orders o WHERE ($1::text IS NULL OR o.patient_id = $1)"
        " AND ($2::boolean IS NULL OR (cardinality(o.flags) > 0) = $2) AND ($3::text IS NULL OR o.status = $3)"
        " ORDER BY o.created_at, o.order_id LIMIT $4 OFFSET $5",
        patient_id,
        flagged,
        status,
        limit,
        offset,
    )
    return [(_order(r, _boxes_of(r["boxes"])), vault.destination_of(r["d"])) for r in rows]


async def record_revocation(
    conn: Connection, approval_id: str, prescriber_id: str, reason: str, at: datetime, event_id: str
) -> None:
    """The tombstone: kept whether or not the approval has arrived; the first revocation wins."""
    await conn.execute(
        "INSERT INTO revocations (approval_id, prescriber_id, reason, revoked_at, event_id)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (approval_id) DO NOTHING",
        approval_id,
        prescriber_id,
        reason,
        at,
        event_id,
    )


async def revocation_reason(conn: Connection, approval_id: str) -> str | None:
    reason: str | None = await conn.fetchval("SELECT reason FROM revocations WHERE approval_id = $1", approval_id)
    return reason


async def record_dose_use(
    conn: Connection, session_id: str, approval_id: str, patient_id: str, started_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO dose_uses (session_id, approval_id, patient_id, started_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (session_id) DO NOTHING",
        session_id,
        approval_id,
        patient_id,
        started_at,
    )


async def doses_used(conn: Connection, approval_id: str) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM dose_uses WHERE approval_id = $1", approval_id))


async def _with_boxes(conn: Connection, row: asyncpg.Record) -> Order:
    return _order(row, (await _boxes(conn, [row["order_id"]])).get(row["order_id"], ()))


async def _boxes(conn: Connection, order_ids: Sequence[str]) -> dict[str, tuple[Box, ...]]:
    rows = await conn.fetch(
        "SELECT * FROM order_boxes WHERE order_id = ANY($1::text[]) ORDER BY order_id, box_number", list(order_ids)
    )
    found: dict[str, list[Box]] = {}
    for r in rows:
        values = {c: r["box_number" if c == "number" else c] for c in _BOX_COLUMNS}
        found.setdefault(r["order_id"], []).append(Box(**values))
    return {k: tuple(v) for k, v in found.items()}


# The boxes of the order `{}` (a column or parameter) as one array of rows, for a statement that reads more.
_BOXES_OF = (
    f"ARRAY(SELECT ROW(box_number, {', '.join(_BOX_COLUMNS[1:])}) FROM order_boxes WHERE order_id = {{}}"
    " ORDER BY box_number)"
)


def _boxes_of(rows: Sequence[Sequence[object]]) -> tuple[Box, ...]:
    return tuple(Box(**dict(zip(_BOX_COLUMNS, r, strict=True))) for r in rows)  # type: ignore[arg-type]


def _order(row: asyncpg.Record, boxes: tuple[Box, ...]) -> Order:
    values = {c: row[c] for c in _ORDER_COLUMNS} | {"flags": tuple(row["flags"])}
    return Order(**values, boxes=boxes)


async def keep_traceparent(conn: Connection, order_id: str, traceparent: str | None) -> None:
    await conn.execute("UPDATE orders SET traceparent = $2 WHERE order_id = $1", order_id, traceparent)


async def order_traceparent(conn: Connection, order_id: str) -> str | None:
    """The trace context the order was opened in (none for orders opened while tracing was off)."""
    value = await conn.fetchval("SELECT traceparent FROM orders WHERE order_id = $1", order_id)
    return None if value is None else str(value)
