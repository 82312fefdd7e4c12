"""The bodies of the HTTP commands: unknown fields, out-of-range values and wrong types are refused with 422."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, Field, Strict

from hearth.contracts import AdverseEventKind
from hearth.contracts.primitives import PatientId
from hearth.kit.http_errors import Command

from .domain import DOSE_MAX_MG, DOSE_MIN_MG, StartRequest


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be a time that exists in UTC") from None


UtcTime = Annotated[AwareDatetime, AfterValidator(_utc)]
StrictBool = Annotated[bool, Strict()]
Dose = Annotated[int, Field(ge=DOSE_MIN_MG, le=DOSE_MAX_MG, description="Sublingual dose in mg (100-600)")]
Notes = Annotated[str, Field(max_length=4000, description="Free text; stored, never published or logged")]
Justification = Annotated[
    str, Field(min_length=1, max_length=4000, description="Free text; stored and audited, never published or logged")
]


class BloodPressure(Command):
    systolic: int = Field(ge=50, le=300, description="mmHg")
    diastolic: int = Field(ge=20, le=200, description="mmHg")
    taken_at: UtcTime = Field(description="When the reading was taken (RFC 3339 with an offset)")


class StartSession(Command):
    patient_id: PatientId
    blood_pressure: BloodPressure
    support_person_present: StrictBool
    dose_mg: Dose | None = Field(
        default=None, description="Clinician only: the dose of this session and of the ones after it"
    )
    dose_justification: Justification | None = Field(
        default=None, description="Clinician only: required when dose_mg is an increase above the maximum step"
    )

    def request(self) -> StartRequest:
        bp = self.blood_pressure
        return StartRequest(bp.systolic, bp.diastolic, bp.taken_at, self.support_person_present, self.dose_mg)


class Vitals(Command):
    systolic: int | None = Field(default=None, ge=50, le=300, description="mmHg")
    diastolic: int | None = Field(default=None, ge=20, le=200, description="mmHg")
    heart_rate_bpm: int | None = Field(default=None, ge=20, le=250)
    spo2_percent: int | None = Field(default=None, ge=50, le=100)

    def recorded(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class RecordCheckIn(Command):
    check_in_index: int = Field(ge=0, le=23, description="Position of the check-in in the schedule, from 0")
    vitals: Vitals | None = None
    notes: Notes | None = None


class ReportAdverseEvent(Command):
    kind: AdverseEventKind
    severity: Literal["mild", "moderate", "severe", "life_threatening"]
    occurred_at: UtcTime | None = Field(default=None, description="When it happened; default: now")
    notes: Notes | None = None


class SetNextDose(Command):
    dose_mg: Dose
    justification: Justification | None = Field(
        default=None,
        description="The prescriber's reason; required for an increase above the rules file's maximum step per change",
    )
