"""Titration, as pure rules: how far a clinician may move the dose of the sessions to come.

The dose stays within the rules file's limits (100-600 mg). An increase larger than the maximum step per change
(`dose.max_increase_per_change_mg`, the clinic's setting: 100 mg) needs the prescriber's written justification; a
decrease never does (it is the safe direction). The step is measured from the current dose. Patients never set
doses (the API refuses it before this runs). Every change is returned as a record for the dose history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hearth.rules import RuleBook

from .domain import NoActiveApproval, Patient


@dataclass(frozen=True)
class DoseRules:
    min_mg: int = 100
    max_mg: int = 600
    max_increase_mg: int = 100
    rules_version: str = ""

    @classmethod
    def of(cls, book: RuleBook) -> DoseRules:
        d = book.dose
        return cls(d.min_mg, d.max_mg, d.max_increase_per_change_mg, book.version)


class DoseRefused(Exception):
    def __init__(self, code: str, message: str, field: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field  # the request field at fault


@dataclass(frozen=True)
class DoseChange:
    patient_id: str
    approval_id: str
    from_mg: int
    to_mg: int
    changed_at: datetime
    changed_by: str
    above_step: bool  # an increase above the maximum step, allowed by the justification
    justification: str | None  # free text: stored, shown to clinicians, never emitted or logged
    rules_version: str


def change_dose(
    patient: Patient, dose_mg: int, rules: DoseRules, *, justification: str | None, by: str, at: datetime
) -> tuple[Patient, DoseChange | None]:
    """The patient with the new dose for the sessions to come, and the change (none when the dose is the same)."""
    if not rules.min_mg <= dose_mg <= rules.max_mg:
        message = f"the dose must be {rules.min_mg}-{rules.max_mg} mg"
        raise DoseRefused("dose_out_of_range", message, "dose_mg")
    approval = patient.active_approval
    if approval is None or approval.current_dose_mg is None:
        raise NoActiveApproval("the patient has no active approval")
    current = approval.current_dose_mg
    if dose_mg == current:
        return patient, None
    above = dose_mg - current > rules.max_increase_mg
    if above and not (justification or "").strip():
        message = (
            f"an increase of {dose_mg - current} mg (from {current} to {dose_mg} mg) is above the"
            f" {rules.max_increase_mg} mg per change: a prescriber's written justification is required"
        )
        raise DoseRefused("justification_required", message, "justification")
    change = DoseChange(
        patient.patient_id, approval.approval_id, current, dose_mg, at, by, above, justification, rules.rules_version
    )
    return patient.with_dose(dose_mg), change
