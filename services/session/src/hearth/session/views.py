"""What the HTTP API returns: response models, built from the domain or read from the tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from hearth.contracts import AdverseEventKind
from hearth.kit.db import Connection
from hearth.kit.vault import Vault

from . import store
from .domain import Patient, Rules
from .schedule import CheckInStatus, Session


class CheckInView(BaseModel):
    check_in_index: int
    due_at: datetime
    status: CheckInStatus
    recorded_at: datetime | None = None
    missed_at: datetime | None = None
    vitals: dict[str, Any] | None = Field(default=None, description="Clinician role only")
    notes: str | None = Field(default=None, description="Clinician role only")


class SessionView(BaseModel):
    session_id: str
    patient_id: str
    approval_id: str
    session_number: int
    dose_mg: int
    dose_finding: bool
    started_at: datetime
    status: Literal["in_progress", "completed"]
    consecutive_misses: int
    missed_check_ins: int
    ended_at: datetime | None = None
    closed_by: Literal["clinician", "auto"] | None = None
    check_ins: list[CheckInView]

    @classmethod
    def of(cls, session: Session, details: dict[int, dict[str, Any]] | None = None) -> SessionView:
        return cls(
            session_id=session.session_id,
            patient_id=session.patient_id,
            approval_id=session.approval_id,
            session_number=session.session_number,
            dose_mg=session.dose_mg,
            dose_finding=session.dose_finding,
            started_at=session.started_at,
            status=session.status,
            consecutive_misses=session.consecutive_misses,
            missed_check_ins=session.missed_check_ins,
            ended_at=session.ended_at,
            closed_by=session.closed_by,
            check_ins=[
                CheckInView(
                    check_in_index=c.index,
                    due_at=c.due_at,
                    status=c.status,
                    recorded_at=c.recorded_at,
                    missed_at=c.missed_at,
                    **(details or {}).get(c.index, {}),
                )
                for c in session.check_ins
            ],
        )


class AdverseEventView(BaseModel):
    adverse_event_id: str
    session_id: str
    kind: AdverseEventKind
    severity: Literal["mild", "moderate", "severe", "life_threatening"]
    occurred_at: datetime


class ApprovalView(BaseModel):
    approval_id: str
    plan: Literal["foundation", "extended"]
    dose_count: int
    starting_dose_mg: int
    current_dose_mg: int = Field(description="The dose of the next session: the starting dose or the clinician's")


class ApprovalState(BaseModel):
    approval_id: str
    approved: bool = Field(description="The approval event arrived")
    revoked: bool = Field(description="The revocation arrived (possibly before the approval)")


class PatientView(BaseModel):
    patient_id: str
    active_approval: ApprovalView | None
    approvals: list[ApprovalState] = Field(description="Every approval id seen, active or not")
    doses_delivered: int = Field(description="Doses in the delivered boxes of the active approval")
    doses_on_hand: int = Field(description="Delivered doses of the active approval not yet taken")
    boxes_in_transit: int
    sessions_held: int
    session_in_progress: str | None = Field(description="Id of the running session, if any")
    last_session_started_at: datetime | None
    next_session_number: int | None
    next_session_dose_finding: bool | None

    @classmethod
    def of(cls, patient: Patient, rules: Rules) -> PatientView:
        a = patient.active_approval
        approval, number, delivered = None, None, 0
        if a is not None and a.plan and a.dose_count and a.starting_dose_mg and a.current_dose_mg:
            approval = ApprovalView(
                approval_id=a.approval_id,
                plan=a.plan,
                dose_count=a.dose_count,
                starting_dose_mg=a.starting_dose_mg,
                current_dose_mg=a.current_dose_mg,
            )
            number = patient.sessions_under(a.approval_id) + 1
            delivered = patient.doses_delivered(a.approval_id)
        running = patient.session_in_progress
        return cls(
            patient_id=patient.patient_id,
            active_approval=approval,
            approvals=[
                ApprovalState(
                    approval_id=x.approval_id, approved=x.approved_at is not None, revoked=x.revoked_at is not None
                )
                for x in patient.approvals
            ],
            doses_delivered=delivered,
            doses_on_hand=patient.doses_on_hand,
            boxes_in_transit=sum(1 for b in patient.boxes if b.shipped and b.delivered_at is None),
            sessions_held=len(patient.sessions),
            session_in_progress=running.session_id if running else None,
            last_session_started_at=patient.last_started_at,
            next_session_number=number,
            next_session_dose_finding=None if number is None else number <= rules.dose_finding_sessions,
        )


async def read_session(conn: Connection, session_id: str, notes: Vault | None) -> SessionView | None:
    """`notes`: the vault that opens the clinicians' notes; None leaves them out."""
    session = await store.load_session(conn, session_id, lock=False)
    if session is None:
        return None
    details = await store.check_in_records(conn, session_id) if notes is not None else {}
    for record in details.values():
        assert notes is not None
        record["notes"] = await notes.open(conn, session.patient_id, record["notes"], "session.check_ins.notes")
    return SessionView.of(session, details)


async def read_patient(conn: Connection, patient_id: str, rules: Rules) -> PatientView | None:
    if not await store.patient_exists(conn, patient_id):
        return None
    return PatientView.of(await store.load_patient(conn, patient_id, lock=False), rules)


class StartingDose(BaseModel):
    approval_id: str
    starting_dose_mg: int
    approved_at: datetime


class DoseChangeView(BaseModel):
    approval_id: str
    from_mg: int
    to_mg: int
    changed_at: datetime
    changed_by: str
    above_step: bool = Field(description="An increase above the maximum step per change, made with a justification")
    justification: str | None = Field(default=None, description="Clinician role only")
    rules_version: str


class SessionDose(BaseModel):
    session_id: str
    approval_id: str
    session_number: int
    dose_mg: int
    started_at: datetime


class DoseHistory(BaseModel):
    patient_id: str
    approvals: list[StartingDose] = Field(description="The starting dose of each approval, oldest first")
    changes: list[DoseChangeView] = Field(description="Every change of the dose of the sessions to come, oldest first")
    sessions: list[SessionDose] = Field(description="The dose each session was held at, oldest first")


async def read_dose_history(conn: Connection, patient_id: str, notes: Vault | None) -> DoseHistory | None:
    """`notes`: the vault that opens the justifications; None leaves them out."""
    if not await store.patient_exists(conn, patient_id):
        return None
    found = await store.dose_history(conn, patient_id)
    place = "session.dose_changes.justification"
    changes = [
        c | {"justification": None if notes is None else await notes.open(conn, patient_id, c["justification"], place)}
        for c in found["changes"]
    ]
    return DoseHistory(
        patient_id=patient_id,
        approvals=[StartingDose(**a) for a in found["approvals"]],
        changes=[DoseChangeView(**c) for c in changes],
        sessions=[SessionDose(**s) for s in found["sessions"]],
    )
