"""SQL on the service's own tables: the patient view, sessions and their check-ins, adverse events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from hearth.contracts import AdverseEventReported
from hearth.kit.db import Connection

from .domain import Approval, Box, PastSession, Patient, StartRequest
from .schedule import CheckIn, Session
from .titration import DoseChange


async def load_patient(conn: Connection, patient_id: str, *, lock: bool = True) -> Patient:
    """The patient's view; with `lock`, its row is created if new and locked until the transaction ends, so
    two starts (or a start and an event) for one patient run one after the other."""
    if lock:
        # One statement creates the row or locks the one there: ON CONFLICT DO UPDATE locks the conflicting row
        # even when its WHERE lets nothing be updated (so no new row version is written).  The view is read by
        # the next statement, whose snapshot is taken once the lock is held.
        await conn.execute(
            "INSERT INTO session_patients (patient_id) VALUES ($1)"
            " ON CONFLICT (patient_id) DO UPDATE SET patient_id = EXCLUDED.patient_id WHERE false",
            patient_id,
        )
    (row,) = await conn.fetch(_PATIENT_VIEW, patient_id)  # always one row: no FROM
    return Patient(
        patient_id,
        approvals=tuple(Approval(**dict(zip(_APPROVAL, r, strict=True))) for r in row["approvals"]),
        boxes=tuple(Box(**dict(zip(_BOX, r, strict=True))) for r in row["boxes"]),
        sessions=tuple(PastSession(**dict(zip(_PAST_SESSION, r, strict=True))) for r in row["sessions"]),
    )


_APPROVAL = ("approval_id", "plan", "dose_count", "starting_dose_mg", "approved_at", "revoked_at", "dose_mg")
_BOX = ("approval_id", "order_id", "box_number", "doses_in_box", "shipped", "delivered_at")
_PAST_SESSION = ("session_id", "approval_id", "started_at", "in_progress")
# The three parts of the view in one round trip (a command or an event reads it each time), each an array of rows.
_PATIENT_VIEW = (
    f"SELECT ARRAY(SELECT ROW({', '.join(_APPROVAL)}) FROM session_approvals WHERE patient_id = $1"
    " ORDER BY approval_id) AS approvals,"
    f" ARRAY(SELECT ROW({', '.join(_BOX)}) FROM session_boxes WHERE patient_id = $1"
    " ORDER BY order_id, box_number) AS boxes,"
    " ARRAY(SELECT ROW(session_id, approval_id, started_at, status = 'in_progress') FROM sessions"
    " WHERE patient_id = $1 ORDER BY started_at, session_id) AS sessions"
)


async def patient_exists(conn: Connection, patient_id: str) -> bool:
    return bool(await conn.fetchval("SELECT true FROM session_patients WHERE patient_id = $1", patient_id))


async def save_patient(conn: Connection, patient: Patient) -> None:
    """The patient's approvals and boxes, inserted or updated by one statement."""
    await conn.execute(
        _SAVE_PATIENT,
        patient.patient_id,
        *([getattr(a, c) for a in patient.approvals] for c in _APPROVAL),
        *([getattr(b, c) for b in patient.boxes] for c in _BOX),
    )


_SAVE_PATIENT = (
    f"WITH approvals AS (INSERT INTO session_approvals (patient_id, {', '.join(_APPROVAL)})"
    " SELECT $1, a.* FROM unnest($2::text[], $3::text[], $4::int[], $5::int[], $6::timestamptz[],"
    " $7::timestamptz[], $8::int[]) AS a"
    " ON CONFLICT (patient_id, approval_id) DO UPDATE SET plan = excluded.plan,"
    " dose_count = excluded.dose_count, starting_dose_mg = excluded.starting_dose_mg,"
    " approved_at = excluded.approved_at, revoked_at = excluded.revoked_at, dose_mg = excluded.dose_mg)"
    f" INSERT INTO session_boxes (patient_id, {', '.join(_BOX)})"
    " SELECT $1, b.* FROM unnest($9::text[], $10::text[], $11::int[], $12::int[], $13::boolean[],"
    " $14::timestamptz[]) AS b"
    " ON CONFLICT (patient_id, order_id, box_number) DO UPDATE SET shipped = excluded.shipped,"
    " delivered_at = excluded.delivered_at"
)


async def insert_session(conn: Connection, session: Session, request: StartRequest, started_by: str) -> None:
    """The session and its check-ins: one statement (the check-ins' foreign key is checked at its end)."""
    await conn.execute(
        "WITH started AS (INSERT INTO sessions (session_id, patient_id, approval_id, session_number, dose_mg,"
        " dose_finding, started_at, started_by, bp_systolic, bp_diastolic, bp_taken_at, support_person_present,"
        " status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13))"
        " INSERT INTO session_check_ins (session_id, check_in_index, due_at, status)"
        " SELECT $1, c.* FROM unnest($14::int[], $15::timestamptz[], $16::text[]) AS c",
        session.session_id,
        session.patient_id,
        session.approval_id,
        session.session_number,
        session.dose_mg,
        session.dose_finding,
        session.started_at,
        started_by,
        request.systolic,
        request.diastolic,
        request.taken_at,
        request.support_person_present,
        session.status,
        [c.index for c in session.check_ins],
        [c.due_at for c in session.check_ins],
        [c.status for c in session.check_ins],
    )


async def load_session(conn: Connection, session_id: str, *, lock: bool = True) -> Session | None:
    row = await conn.fetchrow(
        "SELECT session_id, patient_id, approval_id, session_number, dose_mg, dose_finding, started_at,"
        " consecutive_misses, status, ended_at, closed_by FROM sessions WHERE session_id = $1"
        + (" FOR UPDATE" if lock else ""),
        session_id,
    )
    if row is None:
        return None
    check_ins = await conn.fetch(
        "SELECT check_in_index AS index, due_at, status, recorded_at, missed_at FROM session_check_ins"
        " WHERE session_id = $1 ORDER BY check_in_index",
        session_id,
    )
    return Session(**dict(row), check_ins=tuple(CheckIn(**dict(c)) for c in check_ins))


async def save_session(conn: Connection, session: Session) -> None:
    await conn.execute(
        "UPDATE sessions SET consecutive_misses = $2, status = $3, ended_at = $4, closed_by = $5 WHERE session_id = $1",
        session.session_id,
        session.consecutive_misses,
        session.status,
        session.ended_at,
        session.closed_by,
    )
    await conn.executemany(
        "UPDATE session_check_ins SET status = $3, recorded_at = $4, missed_at = $5"
        " WHERE session_id = $1 AND check_in_index = $2",
        [(session.session_id, c.index, c.status, c.recorded_at, c.missed_at) for c in session.check_ins],
    )


async def save_check_in_record(
    conn: Connection, session_id: str, index: int, *, by: str, vitals: dict[str, Any] | None, notes: str | None
) -> None:
    await conn.execute(
        "UPDATE session_check_ins SET recorded_by = $3, vitals = $4::jsonb, notes = $5"
        " WHERE session_id = $1 AND check_in_index = $2",
        session_id,
        index,
        by,
        orjson.dumps(vitals).decode() if vitals is not None else None,
        notes,
    )


async def check_in_records(conn: Connection, session_id: str) -> dict[int, dict[str, Any]]:
    """What clinicians recorded at each check-in: vitals and notes, by check-in index."""
    rows = await conn.fetch(
        "SELECT check_in_index, vitals, notes FROM session_check_ins WHERE session_id = $1", session_id
    )
    return {
        r["check_in_index"]: {"vitals": orjson.loads(r["vitals"]) if r["vitals"] else None, "notes": r["notes"]}
        for r in rows
    }


async def insert_adverse_event(
    conn: Connection, reported: AdverseEventReported, *, reported_at: datetime, reported_by: str, notes: str | None
) -> None:
    await conn.execute(
        "INSERT INTO session_adverse_events (adverse_event_id, session_id, kind, severity, occurred_at,"
        " reported_at, reported_by, notes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        reported.adverse_event_id,
        reported.session_id,
        reported.kind,
        reported.severity,
        reported.occurred_at,
        reported_at,
        reported_by,
        notes,
    )


async def insert_dose_change(conn: Connection, c: DoseChange) -> None:
    await conn.execute(
        "INSERT INTO session_dose_changes (patient_id, approval_id, from_mg, to_mg, changed_at, changed_by,"
        " above_step, justification, rules_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        c.patient_id, c.approval_id, c.from_mg, c.to_mg, c.changed_at, c.changed_by, c.above_step,
        c.justification, c.rules_version,
    )  # fmt: skip


async def dose_history(conn: Connection, patient_id: str) -> dict[str, list[dict[str, Any]]]:
    """The patient's approvals (starting doses), dose changes and sessions (doses taken), each oldest first."""
    approvals = await conn.fetch(
        "SELECT approval_id, starting_dose_mg, approved_at FROM session_approvals"
        " WHERE patient_id = $1 AND approved_at IS NOT NULL ORDER BY approved_at, approval_id",
        patient_id,
    )
    changes = await conn.fetch(
        "SELECT approval_id, from_mg, to_mg, changed_at, changed_by, above_step, justification, rules_version"
        " FROM session_dose_changes WHERE patient_id = $1 ORDER BY changed_at, id",
        patient_id,
    )
    sessions = await conn.fetch(
        "SELECT session_id, approval_id, session_number, dose_mg, started_at FROM sessions"
        " WHERE patient_id = $1 ORDER BY started_at, session_id",
        patient_id,
    )
    return {"approvals": [dict(r) for r in approvals], "changes": [dict(r) for r in changes],
            "sessions": [dict(r) for r in sessions]}  # fmt: skip
