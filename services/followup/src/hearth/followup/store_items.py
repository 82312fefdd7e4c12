"""SQL on the care-team follow-up items."""

from __future__ import annotations

from typing import Any, Literal

import orjson

from hearth.kit.db import Connection

from .domain.items import FollowUpItem

ItemStatus = Literal["open", "resolved", "all"]


async def add_item(conn: Connection, item: FollowUpItem) -> bool:
    """Raise the item unless the fact behind it already raised one; True when it is new."""
    inserted = await conn.fetchval(
        "INSERT INTO followup_items (item_id, source_key, patient_id, kind, urgency, session_id, details, raised_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8) ON CONFLICT (source_key) DO NOTHING RETURNING true",
        item.item_id,
        item.source_key,
        item.patient_id,
        item.kind,
        item.urgency,
        item.session_id,
        orjson.dumps(item.details or {}).decode(),
        item.raised_at,
    )
    return bool(inserted)


async def find_item(conn: Connection, item_id: str, *, lock: bool = False) -> FollowUpItem | None:
    sql = "SELECT * FROM followup_items WHERE item_id = $1" + (" FOR UPDATE" if lock else "")
    row = await conn.fetchrow(sql, item_id)
    return _item(row) if row is not None else None


async def save_resolution(conn: Connection, item: FollowUpItem) -> None:
    await conn.execute(
        "UPDATE followup_items SET resolved_at = $2, resolved_by = $3, resolution_note = $4 WHERE item_id = $1",
        item.item_id,
        item.resolved_at,
        item.resolved_by,
        item.resolution_note,
    )


async def list_items(conn: Connection, *, status: ItemStatus, patient_id: str | None, limit: int) -> list[FollowUpItem]:
    """Urgent first, then oldest first: the order a care team works through them."""
    where = {"open": "resolved_at IS NULL", "resolved": "resolved_at IS NOT NULL", "all": "true"}[status]
    rows = await conn.fetch(
        f"SELECT * FROM followup_items WHERE {where} AND ($1::text IS NULL OR patient_id = $1)"
        " ORDER BY (urgency = 'urgent') DESC, raised_at, item_id LIMIT $2",
        patient_id,
        limit,
    )
    return [_item(r) for r in rows]


def _item(row: Any) -> FollowUpItem:
    return FollowUpItem(
        item_id=str(row["item_id"]),
        source_key=row["source_key"],
        patient_id=row["patient_id"],
        kind=row["kind"],
        urgency=row["urgency"],
        raised_at=row["raised_at"],
        session_id=row["session_id"],
        details=orjson.loads(row["details"]),
        resolved_at=row["resolved_at"],
        resolved_by=row["resolved_by"],
        resolution_note=row["resolution_note"],
    )
