"""What the HTTP API returns: response models built from the domain's records."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from hearth.kit.commands import personal_text

from .domain import mood
from .domain.integration import DosingSession
from .domain.items import FollowUpItem
from .domain.mood import Baseline, Measurement
from .domain.patients import Patient


class IntegrationView(BaseModel):
    session_id: str
    patient_id: str
    session_number: int | None
    started_at: datetime | None
    ended_at: datetime | None
    window_opens_at: datetime | None
    window_closes_at: datetime | None
    status: Literal["none", "booked", "done"]
    integration_id: str | None
    booked_at: datetime | None
    done_at: datetime | None
    scheduled_for: datetime | None
    integration_due_sent_at: datetime | None = Field(description="When integration-due was emitted, if it was")
    integration_overdue_sent_at: datetime | None = Field(description="When integration-overdue was emitted")

    @classmethod
    def of(cls, s: DosingSession) -> IntegrationView:
        i = s.integration
        return cls(
            session_id=s.session_id,
            patient_id=s.patient_id,
            session_number=s.session_number,
            started_at=s.started_at,
            ended_at=s.ended_at,
            window_opens_at=s.window_opens_at,
            window_closes_at=s.window_closes_at,
            status=i.status,
            integration_id=i.integration_id,
            booked_at=i.booked_at,
            done_at=i.done_at,
            scheduled_for=i.scheduled_for,
            integration_due_sent_at=s.due_emitted_at,
            integration_overdue_sent_at=s.overdue_emitted_at,
        )


class BaselineView(BaseModel):
    assessment_id: str
    phq9_total: int
    gad7_total: int
    screened_at: datetime


class MeasurementView(BaseModel):
    measurement_id: str
    measured_at: datetime
    phq9_total: int | None
    gad7_total: int | None
    phq9_change_pct: float | None = Field(description="Change from baseline in percent; negative = fewer symptoms")
    gad7_change_pct: float | None = Field(description="Change from baseline in percent; negative = fewer symptoms")
    response: bool | None = Field(description="PHQ-9 down at least 50% from baseline (null: no PHQ-9 or baseline 0)")
    remission: bool | None = Field(description="PHQ-9 below 5 (null: no PHQ-9 in this measurement)")

    @classmethod
    def of(cls, m: Measurement, baseline: Baseline | None) -> MeasurementView:
        phq9, gad7 = m.phq9, m.gad7
        return cls(
            measurement_id=m.measurement_id,
            measured_at=m.measured_at,
            phq9_total=phq9,
            gad7_total=gad7,
            phq9_change_pct=mood.percent_change(baseline.phq9, phq9) if baseline and phq9 is not None else None,
            gad7_change_pct=mood.percent_change(baseline.gad7, gad7) if baseline and gad7 is not None else None,
            response=mood.is_response(baseline.phq9, phq9) if baseline and phq9 is not None else None,
            remission=mood.is_remission(phq9) if phq9 is not None else None,
        )


class MoodView(BaseModel):
    patient_id: str
    baseline: BaselineView | None
    first_session_at: datetime | None
    dose_review_due_at: datetime | None
    trajectory: list[MeasurementView] = Field(description="Every measurement since screening, oldest first")
    latest_phq9: MeasurementView | None = Field(description="The latest measurement with a PHQ-9")
    latest_gad7: MeasurementView | None = Field(description="The latest measurement with a GAD-7")

    @classmethod
    def of(cls, patient: Patient, measurements: list[Measurement]) -> MoodView:
        b = patient.baseline
        trajectory = [MeasurementView.of(m, b) for m in measurements]
        return cls(
            patient_id=patient.patient_id,
            baseline=BaselineView(
                assessment_id=b.assessment_id, phq9_total=b.phq9, gad7_total=b.gad7, screened_at=b.screened_at
            )
            if b
            else None,
            first_session_at=patient.first_session_at,
            dose_review_due_at=patient.dose_review_due_at,
            trajectory=trajectory,
            latest_phq9=next((v for v in reversed(trajectory) if v.phq9_total is not None), None),
            latest_gad7=next((v for v in reversed(trajectory) if v.gad7_total is not None), None),
        )


class ItemView(BaseModel):
    item_id: str
    patient_id: str
    kind: Literal["emergency_escalation", "adverse_event", "self_harm_answer"]
    urgency: Literal["urgent", "normal"]
    session_id: str | None
    details: dict[str, Any]
    raised_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None = personal_text("What was done; free text")

    @classmethod
    def of(cls, item: FollowUpItem) -> ItemView:
        return cls(
            item_id=item.item_id,
            patient_id=item.patient_id,
            kind=item.kind,
            urgency=item.urgency,
            session_id=item.session_id,
            details=item.details or {},
            raised_at=item.raised_at,
            resolved_at=item.resolved_at,
            resolved_by=item.resolved_by,
            resolution_note=item.resolution_note,
        )


class ItemList(BaseModel):
    items: list[ItemView]
