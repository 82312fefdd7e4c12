"""SQL on the safety items and the review queue (migrations/0003_safety_items.sql)."""

from __future__ import annotations

import dataclasses
from typing import Literal

import asyncpg

from hearth.kit.db import Connection

from .safety import SafetyItem

_COLUMNS = tuple(f.name for f in dataclasses.fields(SafetyItem))
Listing = Literal["unresolved", "unacknowledged", "all"]


def _item(row: asyncpg.Record | None) -> SafetyItem | None:
    return None if row is None else SafetyItem(**{c: row[c] for c in _COLUMNS})


async def insert(conn: Connection, item: SafetyItem) -> None:
    values = [getattr(item, c) for c in _COLUMNS]
    places = ", ".join(f"${i + 1}" for i in range(len(values)))
    await conn.execute(f"INSERT INTO safety_items ({', '.join(_COLUMNS)}) VALUES ({places})", *values)


async def save(conn: Connection, item: SafetyItem) -> None:
    changing = ("escalation_level", "last_escalated_at", "acknowledged_at", "acknowledged_by", "resolved_at",
                "resolved_by", "resolution_note")  # fmt: skip
    sets = ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(changing))
    await conn.execute(f"UPDATE safety_items SET {sets} WHERE id = $1", item.id, *(getattr(item, c) for c in changing))


async def load(conn: Connection, item_id: str, *, lock: bool = False) -> SafetyItem | None:
    return _item(
        await conn.fetchrow("SELECT * FROM safety_items WHERE id = $1" + (" FOR UPDATE" if lock else ""), item_id)
    )


async def of_assessment(conn: Connection, assessment_id: str) -> SafetyItem | None:
    return _item(await conn.fetchrow("SELECT * FROM safety_items WHERE assessment_id = $1", assessment_id))


async def listing(conn: Connection, status: Listing, limit: int) -> list[SafetyItem]:
    """Oldest first: the item raised first has waited longest."""
    where = {"unresolved": "resolved_at IS NULL", "unacknowledged": "acknowledged_at IS NULL", "all": "true"}[status]
    rows = await conn.fetch(f"SELECT * FROM safety_items WHERE {where} ORDER BY raised_at, id LIMIT $1", limit)
    return [item for item in map(_item, rows) if item is not None]


async def review_queue(conn: Connection, limit: int) -> list[asyncpg.Record]:
    """Assessments waiting for a prescriber's decision (eligible or needs_review, not decided), in the order
    of `domain.queue_priority`: the safety flag first, then the other reviews, then eligible; oldest first."""
    return list(
        await conn.fetch(
            "SELECT a.id, a.patient_id, a.patient_state, a.outcome, a.reasons, a.safety_flag, a.submitted_at,"
            " s.id AS safety_item_id FROM assessments a"
            " LEFT JOIN decisions d ON d.assessment_id = a.id LEFT JOIN safety_items s ON s.assessment_id = a.id"
            " WHERE d.id IS NULL AND a.outcome IN ('eligible', 'needs_review')"
            " ORDER BY a.safety_flag DESC, a.outcome = 'needs_review' DESC, a.submitted_at, a.id LIMIT $1",
            limit,
        )
    )
