"""HTTP response bodies, built from the domain's records."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, Field

from hearth.contracts.events.codes import ReasonCode
from hearth.contracts.events.screening import Gad7Band, Phq9Band, Plan
from hearth.kit.commands import personal_text

from .bodies import IntakeBody
from .decisions import Decision
from .domain import Assessment, Outcome
from .safety import SafetyItem, Status


class AssessmentSummary(BaseModel):
    assessment_id: str
    patient_id: str
    outcome: Outcome
    reasons: list[ReasonCode] = Field(description="Every rule that applied, in the order of the rule table")
    phq9_total: int
    phq9_band: Phq9Band
    gad7_total: int
    gad7_band: Gad7Band
    safety_flag: bool = Field(description="PHQ-9 item 9 above 0: urgent clinician review")
    submitted_at: datetime

    @classmethod
    def of(cls, a: Assessment) -> Self:
        s = a.screening
        return cls(
            assessment_id=a.id,
            patient_id=a.intake.patient_id,
            outcome=s.outcome,
            reasons=list(s.reasons),
            phq9_total=s.phq9_total,
            phq9_band=s.phq9_band,
            gad7_total=s.gad7_total,
            gad7_band=s.gad7_band,
            safety_flag=s.safety_flag,
            submitted_at=a.submitted_at,
        )


class RevocationView(BaseModel):
    revoked_by: str
    revoked_at: datetime
    reason: ReasonCode
    note: str | None = personal_text()


class DecisionView(BaseModel):
    decision_id: str
    assessment_id: str
    decision: Literal["approved", "declined"]
    approval_id: str | None = Field(description="Set for an approval: the id carried by the approved event")
    active: bool = Field(description="An approval that has not been revoked")
    prescriber_id: str
    decided_at: datetime
    plan: Plan | None
    dose_count: int | None
    starting_dose_mg: int | None
    prescriber_license_state: str | None
    justification: str | None = personal_text()
    reason: ReasonCode | None
    note: str | None = personal_text()
    revocation: RevocationView | None
    rules_version: str | None = Field(description="Version of the rules file the decision was taken under")
    regime: str | None = Field(description="The prescribing regime in force when it was taken")
    in_person_evaluation_on: date | None
    special_registration: str | None

    @classmethod
    def of(cls, d: Decision) -> Self:
        r = d.revocation
        return cls(
            decision_id=d.id,
            assessment_id=d.assessment_id,
            decision=d.kind,
            approval_id=d.id if d.kind == "approved" else None,
            active=d.active,
            prescriber_id=d.prescriber_id,
            decided_at=d.decided_at,
            plan=d.plan,
            dose_count=d.dose_count,
            starting_dose_mg=d.starting_dose_mg,
            prescriber_license_state=d.prescriber_license_state,
            justification=d.justification,
            reason=d.reason,
            note=d.note,
            revocation=None
            if r is None
            else RevocationView(revoked_by=r.by, revoked_at=r.at, reason=r.reason, note=r.note),
            rules_version=d.rules_version,
            regime=d.regime,
            in_person_evaluation_on=d.in_person_evaluation_on,
            special_registration=d.special_registration,
        )


class AssessmentView(AssessmentSummary):
    submitted_by: str
    answers: IntakeBody = Field(description="The intake as submitted")
    decision: DecisionView | None

    @classmethod
    def with_decision(cls, a: Assessment, decision: Decision | None) -> Self:
        i = a.intake
        answers = IntakeBody.model_validate(
            {
                "patient_id": i.patient_id,
                "age": i.age,
                "state": i.state,
                "phq9": list(i.phq9),
                "gad7": list(i.gad7),
                "antidepressant_trials": [dataclasses.asdict(t) for t in i.trials],
                "medical_history": dataclasses.asdict(i.history),
                "current_medications": list(i.medications),
                "blood_pressure": None if i.blood_pressure is None else dataclasses.asdict(i.blood_pressure),
                "pregnant_or_breastfeeding": i.pregnant_or_breastfeeding,
                "substance_use_disorder": i.substance_use_disorder,
                "support_person_present": i.support_person_present,
                "payer": dataclasses.asdict(i.payer),
            }
        )
        summary = AssessmentSummary.of(a).model_dump()
        return cls(
            **summary,
            submitted_by=a.submitted_by,
            answers=answers,
            decision=None if decision is None else DecisionView.of(decision),
        )


class AuditEntry(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    entity: str
    details: dict[str, Any]


class AuditTrail(BaseModel):
    assessment_id: str
    entries: list[AuditEntry] = Field(description="Oldest first, from the hash-chained audit log")


class SafetyItemView(BaseModel):
    id: str
    assessment_id: str
    patient_id: str
    phq9_item9: int = Field(description="The PHQ-9 item 9 answer (1-3) that raised it")
    status: Status = Field(description="open; overdue (escalated, not acknowledged); acknowledged; resolved")
    raised_at: datetime
    acknowledge_by: datetime = Field(description="The acknowledgement deadline")
    escalation_level: int = Field(description="0 before the deadline; 1-3 after each deadline that passed")
    last_escalated_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None = personal_text("Free text; never emitted")

    @classmethod
    def of(cls, item: SafetyItem) -> Self:
        return cls(status=item.status, **dataclasses.asdict(item))


class SafetyItemList(BaseModel):
    items: list[SafetyItemView] = Field(description="Oldest first")


class QueueEntry(BaseModel):
    assessment_id: str
    patient_id: str
    patient_state: str
    outcome: Outcome
    reasons: list[ReasonCode]
    urgent: bool = Field(description="The PHQ-9 item 9 safety flag: review first")
    submitted_at: datetime
    age_seconds: int = Field(description="How long it has waited for a decision")
    safety_item: SafetyItemView | None


class ReviewQueue(BaseModel):
    items: list[QueueEntry] = Field(
        description="Assessments waiting for a prescriber's decision: urgent (safety flag) first, then those that"
        " need review, then eligible ones; oldest first within each"
    )
