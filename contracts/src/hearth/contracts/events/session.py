"""Events owned by the session service: the supervised at-home dosing session."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, Literal, Self

from pydantic import Field, ValidationInfo, field_validator

from hearth.contracts.base import EventData, OpenCodes
from hearth.contracts.primitives import EXAMPLE_AT, Identifier, StrictBool, StrictInt, UtcDatetime


class AdverseEventKind(OpenCodes):
    """Kind of adverse event observed during or after a session; other when none fits."""

    HYPERTENSION = "hypertension"
    SEVERE_AGITATION = "severe_agitation"
    SUICIDAL_IDEATION = "suicidal_ideation"
    NAUSEA_VOMITING = "nausea_vomiting"
    EXCESSIVE_SEDATION = "excessive_sedation"
    RESPIRATORY_DEPRESSION = "respiratory_depression"
    ALLERGIC_REACTION = "allergic_reaction"
    OTHER = "other"


class SessionStarted(EventData):
    """Every start condition held (active approval, doses on hand, blood pressure, support person, spacing)
    and the session began; the clinician check-ins are scheduled."""

    event_type: ClassVar[str] = "org.hearth.session.session-started.v1"

    session_id: Identifier = Field(description="Id of the session.")
    approval_id: Identifier = Field(description="Id of the approval the session is given under.")
    session_number: StrictInt = Field(ge=1, description="Number of the session under the approval, from 1.")
    dose_mg: StrictInt = Field(ge=100, le=600, description="Sublingual dose taken, in mg (600 mg ceiling).")
    dose_finding: StrictBool = Field(description="The session is one of the dose-finding sessions.")
    started_at: UtcDatetime = Field(description="When the session started (UTC).")
    check_ins_due: tuple[UtcDatetime, ...] = Field(
        min_length=1, max_length=24, description="Scheduled clinician check-in times, in order (UTC)."
    )

    @field_validator("check_ins_due")
    @classmethod
    def _in_order_after_start(cls, value: tuple[UtcDatetime, ...], info: ValidationInfo) -> tuple[UtcDatetime, ...]:
        if list(value) != sorted(set(value)):
            raise ValueError("must be in increasing order without repeats")
        started = info.data.get("started_at")
        if started is not None and value[0] < started:
            raise ValueError("must not be earlier than started_at")
        return value

    @classmethod
    def example(cls) -> Self:
        return cls(
            session_id="ses-4c9e10",
            approval_id="apr-2b7e91",
            session_number=1,
            dose_mg=200,
            dose_finding=True,
            started_at=EXAMPLE_AT,
            check_ins_due=tuple(EXAMPLE_AT + timedelta(minutes=m) for m in (0, 20, 40, 60, 90, 120)),
        )


class CheckInMissed(EventData):
    """A scheduled check-in had not happened by its grace period. The care team escalates by level: 1 retry
    the patient, 2 contact the support person, 3 emergency protocol."""

    event_type: ClassVar[str] = "org.hearth.session.check-in-missed.v1"

    session_id: Identifier = Field(description="Id of the session.")
    check_in_index: StrictInt = Field(ge=0, description="Position of the check-in in check_ins_due, from 0.")
    due_at: UtcDatetime = Field(description="When the check-in was due (UTC).")
    consecutive_misses: StrictInt = Field(ge=1, description="Check-ins missed in a row, this one included.")
    escalation_level: Literal[1, 2, 3] = Field(
        description="1 retry the patient, 2 contact the support person, 3 emergency protocol."
    )

    @classmethod
    def example(cls) -> Self:
        return cls(
            session_id="ses-4c9e10",
            check_in_index=2,
            due_at=EXAMPLE_AT + timedelta(minutes=40),
            consecutive_misses=1,
            escalation_level=1,
        )


class SessionCompleted(EventData):
    """The session ended with its closing check-in, or was closed by a clinician or automatically."""

    event_type: ClassVar[str] = "org.hearth.session.session-completed.v1"

    session_id: Identifier = Field(description="Id of the session.")
    session_number: StrictInt = Field(ge=1, description="Number of the session under the approval, from 1.")
    ended_at: UtcDatetime = Field(description="When the session ended (UTC).")
    closed_by: Literal["clinician", "auto"] = Field(description="Who closed the session.")
    missed_check_ins: StrictInt = Field(ge=0, description="Check-ins missed during the session.")

    @classmethod
    def example(cls) -> Self:
        return cls(
            session_id="ses-4c9e10",
            session_number=1,
            ended_at=EXAMPLE_AT + timedelta(minutes=125),
            closed_by="clinician",
            missed_check_ins=0,
        )


class AdverseEventReported(EventData):
    """A clinician recorded an adverse event during or after a session."""

    event_type: ClassVar[str] = "org.hearth.session.adverse-event-reported.v1"

    session_id: Identifier = Field(description="Id of the session.")
    adverse_event_id: Identifier = Field(description="Id of the adverse event record.")
    kind: AdverseEventKind = Field(description="What happened.")
    severity: Literal["mild", "moderate", "severe", "life_threatening"] = Field(description="How severe it was.")
    occurred_at: UtcDatetime = Field(description="When it happened (UTC).")

    @classmethod
    def example(cls) -> Self:
        return cls(
            session_id="ses-4c9e10",
            adverse_event_id="ae-77d3b1",
            kind=AdverseEventKind.HYPERTENSION,
            severity="moderate",
            occurred_at=EXAMPLE_AT + timedelta(minutes=45),
        )
