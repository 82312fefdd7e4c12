"""Events owned by the screening service that record a prescriber's decision on a screening."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import Field, ValidationInfo, field_validator

from hearth.contracts.base import EventData
from hearth.contracts.events.codes import ReasonCode
from hearth.contracts.primitives import Identifier, StrictInt, UsState

Plan = Literal["foundation", "extended"]
PLAN_DOSES: dict[str, int] = {"foundation": 8, "extended": 24}


class Approved(EventData):
    """A prescriber licensed in the patient's state approved treatment: the plan and the starting dose."""

    event_type: ClassVar[str] = "org.hearth.screening.approved.v1"

    approval_id: Identifier = Field(description="Id of the approval; fulfillment creates exactly one order per id.")
    assessment_id: Identifier = Field(description="Id of the screening assessment that was approved.")
    plan: Plan = Field(description="Treatment plan: foundation (8 doses) or extended (24 doses).")
    dose_count: Literal[8, 24] = Field(description="Doses in the plan: 8 for foundation, 24 for extended.")
    starting_dose_mg: StrictInt = Field(ge=100, le=400, description="Starting sublingual dose in mg.")
    prescriber_id: Identifier = Field(description="Pseudonymous id of the approving prescriber.")
    prescriber_license_state: UsState = Field(description="US state in which the prescriber is licensed.")
    patient_state: UsState = Field(description="US state the patient lives in; equals prescriber_license_state.")
    rules_version: Identifier | None = Field(
        default=None, description="Version of the clinical rules file the approval was decided under."
    )
    regime: Identifier | None = Field(
        default=None,
        description="Id of the prescribing regime in force at the approval, e.g. telemedicine_flexibility or"
        " ryan_haight_in_person.",
    )

    @field_validator("dose_count")
    @classmethod
    def _dose_count_fits_plan(cls, value: int, info: ValidationInfo) -> int:
        plan = info.data.get("plan")
        if plan is not None and value != PLAN_DOSES[plan]:
            raise ValueError(f"must be {PLAN_DOSES[plan]} for the {plan} plan")
        return value

    @field_validator("patient_state")
    @classmethod
    def _licensed_in_patient_state(cls, value: str, info: ValidationInfo) -> str:
        licensed = info.data.get("prescriber_license_state")
        if licensed is not None and value != licensed:
            raise ValueError(f"must equal prescriber_license_state ({licensed})")
        return value

    @classmethod
    def example(cls) -> Self:
        return cls(
            approval_id="apr-2b7e91",
            assessment_id="asm-5d1c0a",
            plan="foundation",
            dose_count=8,
            starting_dose_mg=200,
            prescriber_id="clin-0042",
            prescriber_license_state="CO",
            patient_state="CO",
            rules_version="2026.12.03-1",
            regime="telemedicine_flexibility",
        )


class Declined(EventData):
    """A prescriber declined treatment after reviewing the screening."""

    event_type: ClassVar[str] = "org.hearth.screening.declined.v1"

    assessment_id: Identifier = Field(description="Id of the screening assessment that was declined.")
    prescriber_id: Identifier = Field(description="Pseudonymous id of the declining prescriber.")
    reason: ReasonCode = Field(description="Main reason for the decision.")

    @classmethod
    def example(cls) -> Self:
        return cls(assessment_id="asm-5d1c0a", prescriber_id="clin-0042", reason=ReasonCode.CLINICAL_JUDGEMENT)


class ApprovalRevoked(EventData):
    """A prescriber withdrew an approval: no further boxes ship and no further sessions start under it."""

    event_type: ClassVar[str] = "org.hearth.screening.approval-revoked.v1"

    approval_id: Identifier = Field(description="Id of the revoked approval.")
    prescriber_id: Identifier = Field(description="Pseudonymous id of the revoking prescriber.")
    reason: ReasonCode = Field(description="Main reason for the revocation.")

    @classmethod
    def example(cls) -> Self:
        return cls(approval_id="apr-2b7e91", prescriber_id="clin-0042", reason=ReasonCode.ADVERSE_EVENT)
