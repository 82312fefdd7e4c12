"""What follow-up knows of a patient: the mood baseline, the first session and the dose review."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from hearth.contracts import DoseReviewDue

from .mood import Baseline, newer_baseline


@dataclass(frozen=True)
class Patient:
    patient_id: str
    baseline: Baseline | None = None
    first_session_at: datetime | None = None
    dose_review_due_at: datetime | None = None
    dose_review_emitted_at: datetime | None = None


def screened(patient: Patient, baseline: Baseline) -> Patient:
    return replace(patient, baseline=newer_baseline(patient.baseline, baseline))


def session_started(patient: Patient, started_at: datetime, review_after: timedelta) -> tuple[Patient, datetime | None]:
    """Track the first session; returns when the dose review is now due if that moved (starts may arrive out of
    order, so an earlier start moves it earlier), None when nothing changes or the review was already sent."""
    if patient.first_session_at is not None and patient.first_session_at <= started_at:
        return patient, None
    patient = replace(patient, first_session_at=started_at)
    if patient.dose_review_emitted_at is not None:
        return patient, None
    due_at = started_at + review_after
    return replace(patient, dose_review_due_at=due_at), due_at


def dose_review_due(patient: Patient, now: datetime) -> tuple[Patient, DoseReviewDue | None]:
    first, due_at = patient.first_session_at, patient.dose_review_due_at
    if first is None or due_at is None or patient.dose_review_emitted_at is not None:
        return patient, None
    return replace(patient, dose_review_emitted_at=now), DoseReviewDue(first_session_at=first, due_at=due_at)
