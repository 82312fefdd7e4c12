"""SQL on the service's own tables: patients, dosing sessions, mood measurements (items in store_items.py).

`lock_*` reads a row FOR UPDATE, creating it first when missing, so concurrent triggers on one patient or
session (an event and an HTTP command) serialise on it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hearth.kit.db import Connection

from .domain.integration import DosingSession, Integration
from .domain.mood import Baseline, Measurement
from .domain.outcomes import PatientCourse, Score
from .domain.patients import Patient

Row = Any  # an asyncpg Record


async def lock_patient(conn: Connection, patient_id: str) -> Patient:
    return (await lock_patients(conn, [patient_id]))[patient_id]


async def lock_patients(conn: Connection, patient_ids: Sequence[str]) -> dict[str, Patient]:
    """Several patients at once (an inbox run), locked in id order: two triggers locking overlapping sets
    cannot deadlock on them."""
    ids = sorted(set(patient_ids))
    await conn.execute(
        "INSERT INTO followup_patients (patient_id) SELECT unnest($1::text[]) ORDER BY 1 ON CONFLICT DO NOTHING", ids
    )
    rows = await conn.fetch(
        "SELECT * FROM followup_patients WHERE patient_id = ANY($1::text[]) ORDER BY patient_id FOR UPDATE", ids
    )
    return {row["patient_id"]: _patient(row) for row in rows}


async def find_patient(conn: Connection, patient_id: str) -> Patient | None:
    row = await conn.fetchrow("SELECT * FROM followup_patients WHERE patient_id = $1", patient_id)
    return _patient(row) if row is not None else None


async def save_patient(conn: Connection, p: Patient) -> None:
    await save_patients(conn, [p])


async def save_patients(conn: Connection, patients: Sequence[Patient]) -> None:
    baselines = [p.baseline for p in patients]
    await conn.execute(
        "UPDATE followup_patients AS p SET baseline_assessment_id = u.a, baseline_phq9 = u.phq9,"
        " baseline_gad7 = u.gad7, baseline_at = u.at, first_session_at = u.first, dose_review_due_at = u.due,"
        " dose_review_emitted_at = u.emitted"
        " FROM unnest($1::text[], $2::text[], $3::smallint[], $4::smallint[], $5::timestamptz[],"
        " $6::timestamptz[], $7::timestamptz[], $8::timestamptz[]) AS u(id, a, phq9, gad7, at, first, due, emitted)"
        " WHERE p.patient_id = u.id",
        [p.patient_id for p in patients],
        [b.assessment_id if b else None for b in baselines],
        [b.phq9 if b else None for b in baselines],
        [b.gad7 if b else None for b in baselines],
        [b.screened_at if b else None for b in baselines],
        [p.first_session_at for p in patients],
        [p.dose_review_due_at for p in patients],
        [p.dose_review_emitted_at for p in patients],
    )


def _patient(row: Row) -> Patient:
    baseline = None
    if row["baseline_assessment_id"] is not None:
        baseline = Baseline(
            row["baseline_assessment_id"], row["baseline_phq9"], row["baseline_gad7"], row["baseline_at"]
        )
    return Patient(
        row["patient_id"], baseline, row["first_session_at"], row["dose_review_due_at"], row["dose_review_emitted_at"]
    )


async def lock_session(conn: Connection, session_id: str, patient_id: str) -> DosingSession:
    await conn.execute(
        "INSERT INTO followup_sessions (session_id, patient_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        session_id,
        patient_id,
    )
    found = await find_session(conn, session_id, lock=True)
    assert found is not None
    return found


async def find_session(conn: Connection, session_id: str, *, lock: bool = False) -> DosingSession | None:
    sql = "SELECT * FROM followup_sessions WHERE session_id = $1" + (" FOR UPDATE" if lock else "")
    row = await conn.fetchrow(sql, session_id)
    return _session(row) if row is not None else None


async def save_session(conn: Connection, s: DosingSession) -> None:
    i = s.integration
    await conn.execute(
        "UPDATE followup_sessions SET session_number = $2, started_at = $3, ended_at = $4, window_opens_at = $5,"
        " window_closes_at = $6, integration_status = $7, integration_id = $8, integration_booked_at = $9,"
        " integration_done_at = $10, integration_scheduled_for = $11, integration_recorded_by = $12,"
        " integration_notes = $13, due_emitted_at = $14, overdue_emitted_at = $15 WHERE session_id = $1",
        s.session_id,
        s.session_number,
        s.started_at,
        s.ended_at,
        s.window_opens_at,
        s.window_closes_at,
        i.status,
        i.integration_id,
        i.booked_at,
        i.done_at,
        i.scheduled_for,
        i.recorded_by,
        i.notes,
        s.due_emitted_at,
        s.overdue_emitted_at,
    )


def _session(row: Row) -> DosingSession:
    integration = Integration(
        status=row["integration_status"],
        integration_id=row["integration_id"],
        booked_at=row["integration_booked_at"],
        done_at=row["integration_done_at"],
        scheduled_for=row["integration_scheduled_for"],
        recorded_by=row["integration_recorded_by"],
        notes=row["integration_notes"],
    )
    return DosingSession(
        session_id=row["session_id"],
        patient_id=row["patient_id"],
        session_number=row["session_number"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        window_opens_at=row["window_opens_at"],
        window_closes_at=row["window_closes_at"],
        integration=integration,
        due_emitted_at=row["due_emitted_at"],
        overdue_emitted_at=row["overdue_emitted_at"],
    )


async def add_measurement(conn: Connection, m: Measurement, submitted_by: str) -> None:
    await conn.execute(
        "INSERT INTO followup_mood (measurement_id, patient_id, measured_at, phq9_answers, gad7_answers,"
        " submitted_by) VALUES ($1, $2, $3, $4, $5, $6)",
        m.measurement_id,
        m.patient_id,
        m.measured_at,
        list(m.phq9_answers) if m.phq9_answers is not None else None,
        list(m.gad7_answers) if m.gad7_answers is not None else None,
        submitted_by,
    )


async def measurements(conn: Connection, patient_id: str) -> list[Measurement]:
    rows = await conn.fetch(
        "SELECT * FROM followup_mood WHERE patient_id = $1 ORDER BY measured_at, measurement_id", patient_id
    )
    return [_measurement(r) for r in rows]


def _measurement(row: Row) -> Measurement:
    phq9, gad7 = row["phq9_answers"], row["gad7_answers"]
    return Measurement(
        str(row["measurement_id"]),
        row["patient_id"],
        row["measured_at"],
        tuple(phq9) if phq9 is not None else None,
        tuple(gad7) if gad7 is not None else None,
    )


async def patient_courses(conn: Connection) -> list[PatientCourse]:
    """Every tracked patient with what the outcome figures need (one pass over three tables)."""
    scores: dict[str, list[Score]] = {}
    for r in await conn.fetch("SELECT patient_id, measured_at, phq9_answers, gad7_answers FROM followup_mood"):
        phq9, gad7 = r["phq9_answers"], r["gad7_answers"]
        scores.setdefault(r["patient_id"], []).append(
            Score(r["measured_at"], sum(phq9) if phq9 is not None else None, sum(gad7) if gad7 is not None else None)
        )
    rows = await conn.fetch(
        "SELECT p.patient_id, p.baseline_phq9, p.baseline_gad7, p.first_session_at,"
        " count(s.session_id) AS sessions, max(coalesce(s.started_at, s.ended_at)) AS last_session_at"
        " FROM followup_patients p LEFT JOIN followup_sessions s ON s.patient_id = p.patient_id"
        " GROUP BY p.patient_id"
    )
    return [
        PatientCourse(
            r["patient_id"],
            r["baseline_phq9"],
            r["baseline_gad7"],
            r["first_session_at"],
            int(r["sessions"]),
            r["last_session_at"],
            tuple(scores.get(r["patient_id"], ())),
        )
        for r in rows
    ]
