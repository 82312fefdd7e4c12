"""The patient view read in one round trip (`store.load_patient`) is what was saved: every approval, box and
session of the patient and of no one else, each field with its type (nulls included), in the view's order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from hearth.kit import migrations
from hearth.session import store
from hearth.session.domain import Approval, Box, PastSession, Patient

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


async def _session(conn: asyncpg.Connection, session_id: str, patient: str, approval: str, at: datetime, status: str):
    await conn.execute(
        "INSERT INTO sessions (session_id, patient_id, approval_id, session_number, dose_mg, dose_finding,"
        " started_at, started_by, bp_systolic, bp_diastolic, bp_taken_at, support_person_present, status)"
        " VALUES ($1, $2, $3, 1, 200, true, $4, $2, 120, 80, $4, true, $5)",
        session_id,
        patient,
        approval,
        at,
        status,
    )


async def test_the_view_is_what_was_saved_in_its_order(pg_database):
    conn = await asyncpg.connect(pg_database)
    try:
        await migrations.migrate(
            conn, migrations.kit_migrations() + migrations.package_migrations("session", "hearth.session")
        )
        saved = Patient(
            "pt-view",
            approvals=(
                Approval("apr-a", "foundation", 8, 200, T0, None, None),
                Approval("apr-b"),  # a revocation that came first: everything else unknown
                Approval("apr-c", "extended", 24, 300, T0, T0 + timedelta(days=2), 350),
            ),
            boxes=(
                Box("apr-a", "ord-1", 1, 8, True, T0 + timedelta(days=1)),
                Box("apr-c", "ord-2", 1, 8, False, None),
                Box("apr-c", "ord-2", 2, 8, True, None),
            ),
            sessions=(),
        )
        other = Patient("pt-other", approvals=(Approval("apr-x", "foundation", 8, 100, T0, None, None),))
        async with conn.transaction():
            for patient in (saved, other):
                await store.load_patient(conn, patient.patient_id)  # creates and locks the patient's row
                await store.save_patient(conn, patient)
            await _session(conn, "ses-2", "pt-view", "apr-c", T0 + timedelta(days=3), "in_progress")
            await _session(conn, "ses-1", "pt-view", "apr-a", T0 + timedelta(days=1), "completed")
            await _session(conn, "ses-x", "pt-other", "apr-x", T0, "completed")

        async with conn.transaction():
            loaded = await store.load_patient(conn, "pt-view")
        assert loaded.approvals == saved.approvals
        assert loaded.boxes == saved.boxes
        assert loaded.sessions == (
            PastSession("ses-1", "apr-a", T0 + timedelta(days=1), False),
            PastSession("ses-2", "apr-c", T0 + timedelta(days=3), True),
        )
        assert await store.load_patient(conn, "pt-nobody", lock=False) == Patient("pt-nobody")
    finally:
        await conn.close()
