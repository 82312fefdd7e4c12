"""SQL on the screening service's own tables (migrations/0001_assessments.sql)."""

from __future__ import annotations

import dataclasses
from typing import Any

import asyncpg
import orjson

from hearth.contracts.events.codes import ReasonCode
from hearth.kit.db import Connection

from .decisions import Decision, Revocation
from .domain import Assessment, BloodPressure, History, Intake, Payer, Screening, Trial


def _intake_json(intake: Intake) -> str:
    return orjson.dumps(dataclasses.asdict(intake)).decode()


def _intake(doc: dict[str, Any]) -> Intake:
    bp = doc["blood_pressure"]
    return Intake(
        **doc
        | {
            "phq9": tuple(doc["phq9"]),
            "gad7": tuple(doc["gad7"]),
            "trials": tuple(Trial(**t) for t in doc["trials"]),
            "history": History(**doc["history"]),
            "medications": tuple(doc["medications"]),
            "blood_pressure": None if bp is None else BloodPressure(**bp),
            "payer": Payer(**doc["payer"]),
        }
    )


async def insert_assessment(conn: Connection, a: Assessment, *, traceparent: str | None = None) -> None:
    s = a.screening
    await conn.execute(
        "INSERT INTO assessments (id, patient_id, patient_state, submitted_by, submitted_at, intake, phq9_total,"
        " phq9_band, gad7_total, gad7_band, safety_flag, outcome, reasons, traceparent)"
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13, $14)",
        a.id, a.intake.patient_id, a.intake.state, a.submitted_by, a.submitted_at, _intake_json(a.intake),
        s.phq9_total, s.phq9_band, s.gad7_total, s.gad7_band, s.safety_flag, s.outcome, [str(r) for r in s.reasons],
        traceparent,
    )  # fmt: skip


async def intake_traceparent(conn: Connection, assessment_id: str) -> str | None:
    """The trace context of the request that submitted the intake (none for intakes older than tracing)."""
    value = await conn.fetchval("SELECT traceparent FROM assessments WHERE id = $1", assessment_id)
    return None if value is None else str(value)


async def load_assessment(conn: Connection, assessment_id: str, *, lock: bool = False) -> Assessment | None:
    """`lock`: hold the row until the transaction ends, so two decisions on one assessment run one after the other."""
    row = await conn.fetchrow(
        "SELECT * FROM assessments WHERE id = $1" + (" FOR UPDATE" if lock else ""), assessment_id
    )
    if row is None:
        return None
    screening = Screening(
        phq9_total=row["phq9_total"],
        phq9_band=row["phq9_band"],
        gad7_total=row["gad7_total"],
        gad7_band=row["gad7_band"],
        safety_flag=row["safety_flag"],
        outcome=row["outcome"],
        reasons=tuple(ReasonCode(r) for r in row["reasons"]),
    )
    intake = _intake(orjson.loads(row["intake"]))
    return Assessment(row["id"], intake, screening, row["submitted_by"], row["submitted_at"])


_DECISION = "SELECT d.*, a.patient_id, a.patient_state FROM decisions d JOIN assessments a ON a.id = d.assessment_id"


def _decision(row: asyncpg.Record | None) -> Decision | None:
    if row is None:
        return None
    revocation = None
    if row["revoked_at"] is not None:
        revocation = Revocation(
            row["revoked_by"], row["revoked_at"], ReasonCode(row["revoke_reason"]), row["revoke_note"]
        )
    return Decision(
        id=row["id"],
        assessment_id=row["assessment_id"],
        patient_id=row["patient_id"],
        patient_state=row["patient_state"],
        kind=row["kind"],
        prescriber_id=row["prescriber_id"],
        decided_at=row["decided_at"],
        plan=row["plan"],
        starting_dose_mg=row["starting_dose_mg"],
        prescriber_license_state=row["prescriber_license_state"],
        justification=row["justification"],
        reason=None if row["reason"] is None else ReasonCode(row["reason"]),
        note=row["note"],
        revocation=revocation,
        rules_version=row["rules_version"],
        rules_digest=row["rules_digest"],
        regime=row["regime"],
        in_person_evaluation_on=row["in_person_evaluation_on"],
        special_registration=row["special_registration"],
    )


async def load_decision(conn: Connection, assessment_id: str) -> Decision | None:
    return _decision(await conn.fetchrow(_DECISION + " WHERE d.assessment_id = $1", assessment_id))


async def load_approval(conn: Connection, approval_id: str, *, lock: bool = False) -> Decision | None:
    lock_clause = " FOR UPDATE OF d" if lock else ""
    row = await conn.fetchrow(_DECISION + " WHERE d.id = $1 AND d.kind = 'approved'" + lock_clause, approval_id)
    return _decision(row)


async def insert_decision(conn: Connection, d: Decision) -> None:
    await conn.execute(
        "INSERT INTO decisions (id, assessment_id, kind, prescriber_id, decided_at, plan, starting_dose_mg,"
        " prescriber_license_state, justification, reason, note, rules_version, rules_digest, regime,"
        " in_person_evaluation_on, special_registration)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        d.id, d.assessment_id, d.kind, d.prescriber_id, d.decided_at, d.plan, d.starting_dose_mg,
        d.prescriber_license_state, d.justification, d.reason and str(d.reason), d.note, d.rules_version,
        d.rules_digest, d.regime, d.in_person_evaluation_on, d.special_registration,
    )  # fmt: skip


async def save_revocation(conn: Connection, d: Decision) -> None:
    assert d.revocation is not None
    r = d.revocation
    await conn.execute(
        "UPDATE decisions SET revoked_by = $2, revoked_at = $3, revoke_reason = $4, revoke_note = $5"
        " WHERE id = $1 AND revoked_at IS NULL",
        d.id, r.by, r.at, str(r.reason), r.note,
    )  # fmt: skip
