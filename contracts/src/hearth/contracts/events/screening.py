"""Events owned by the screening service: the screening outcome here, the decisions re-exported."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import Field, ValidationInfo, field_validator

from hearth.contracts.base import ContractModel, EventData
from hearth.contracts.events.codes import DECISION_ONLY, ReasonCode

# The prescriber's decisions are screening's events too; they live in decisions.py to keep files short.
from hearth.contracts.events.decisions import PLAN_DOSES, ApprovalRevoked, Approved, Declined, Plan
from hearth.contracts.primitives import Identifier, StrictBool, StrictInt, UsState

__all__ = [
    "PLAN_DOSES",
    "ApprovalRevoked",
    "Approved",
    "BloodPressure",
    "Declined",
    "Gad7Band",
    "Phq9Band",
    "Plan",
    "Screened",
    "gad7_band",
    "phq9_band",
]

Phq9Band = Literal["minimal", "mild", "moderate", "moderately_severe", "severe"]
Gad7Band = Literal["minimal", "mild", "moderate", "severe"]


def phq9_band(total: int) -> Phq9Band:
    """PHQ-9 severity band: 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe, 20-27 severe."""
    bands: tuple[Phq9Band, ...] = ("minimal", "mild", "moderate", "moderately_severe")
    return bands[total // 5] if total < 20 else "severe"


def gad7_band(total: int) -> Gad7Band:
    """GAD-7 severity band: 0-4 minimal, 5-9 mild, 10-14 moderate, 15-21 severe."""
    bands: tuple[Gad7Band, ...] = ("minimal", "mild", "moderate")
    return bands[total // 5] if total < 15 else "severe"


class BloodPressure(ContractModel):
    """A seated blood pressure reading in mmHg."""

    systolic_mmhg: StrictInt = Field(ge=50, le=300, description="Systolic pressure, mmHg.")
    diastolic_mmhg: StrictInt = Field(ge=20, le=200, description="Diastolic pressure, mmHg.")


class Screened(EventData):
    """An intake was scored and checked against the exclusions: eligible, ineligible (with reasons) or in
    need of a clinician's review. A PHQ-9 item 9 answer above 0 always means needs_review."""

    event_type: ClassVar[str] = "org.hearth.screening.screened.v1"

    assessment_id: Identifier = Field(description="Id of the screening assessment.")
    patient_state: UsState = Field(description="US state the patient lives in.")
    phq9_total: StrictInt = Field(ge=0, le=27, description="PHQ-9 total score (nine items, 0-3 each).")
    phq9_band: Phq9Band = Field(description="PHQ-9 severity band of phq9_total.")
    gad7_total: StrictInt = Field(ge=0, le=21, description="GAD-7 total score (seven items, 0-3 each).")
    gad7_band: Gad7Band = Field(description="GAD-7 severity band of gad7_total.")
    safety_flag: StrictBool = Field(description="PHQ-9 item 9 (thoughts of self-harm) was answered above 0.")
    outcome: Literal["eligible", "ineligible", "needs_review"] = Field(description="Result of the screening.")
    reasons: tuple[ReasonCode, ...] = Field(
        description="Why the outcome is not eligible: exclusions and review triggers; empty when eligible."
    )
    blood_pressure: BloodPressure | None = Field(
        default=None, description="The intake's blood pressure reading; absent when none was taken (missing_vitals)."
    )

    @field_validator("phq9_band")
    @classmethod
    def _phq9_band_matches(cls, value: Phq9Band, info: ValidationInfo) -> Phq9Band:
        total = info.data.get("phq9_total")
        if total is not None and value != phq9_band(total):
            raise ValueError(f"must be {phq9_band(total)} for a PHQ-9 total of {total}")
        return value

    @field_validator("gad7_band")
    @classmethod
    def _gad7_band_matches(cls, value: Gad7Band, info: ValidationInfo) -> Gad7Band:
        total = info.data.get("gad7_total")
        if total is not None and value != gad7_band(total):
            raise ValueError(f"must be {gad7_band(total)} for a GAD-7 total of {total}")
        return value

    @field_validator("outcome")
    @classmethod
    def _safety_flag_goes_to_review(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("safety_flag") and value != "needs_review":
            raise ValueError("must be needs_review when safety_flag is set: it never auto-rejects or auto-approves")
        return value

    @field_validator("reasons")
    @classmethod
    def _reasons_fit_outcome(cls, value: tuple[ReasonCode, ...], info: ValidationInfo) -> tuple[ReasonCode, ...]:
        outcome, flagged = info.data.get("outcome"), info.data.get("safety_flag")
        if len(set(value)) != len(value):
            raise ValueError("must not repeat a code")
        if DECISION_ONLY & set(value):
            raise ValueError(f"{sorted(DECISION_ONLY & set(value))} are clinician decision codes, not screening codes")
        if outcome == "eligible" and value:
            raise ValueError("must be empty when the outcome is eligible")
        if outcome in ("ineligible", "needs_review") and not value:
            raise ValueError(f"must name at least one code when the outcome is {outcome}")
        if flagged is not None and flagged != (ReasonCode.SAFETY_FLAG_ITEM9 in value):
            raise ValueError("must contain safety_flag_item9 exactly when safety_flag is set")
        return value

    @classmethod
    def example(cls) -> Self:
        return cls(
            assessment_id="asm-5d1c0a",
            patient_state="CO",
            phq9_total=18,
            phq9_band="moderately_severe",
            gad7_total=11,
            gad7_band="moderate",
            safety_flag=False,
            outcome="eligible",
            reasons=(),
            blood_pressure=BloodPressure(systolic_mmhg=122, diastolic_mmhg=78),
        )
