"""Events owned by the screening service about patient safety: a self-harm answer nobody has acknowledged."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, Literal, Self

from pydantic import Field, ValidationInfo, field_validator

from hearth.contracts.base import EventData
from hearth.contracts.primitives import EXAMPLE_AT, Identifier, StrictInt, UtcDatetime


class SafetyReviewOverdue(EventData):
    """A safety item (PHQ-9 item 9, thoughts of self-harm, answered above 0 at intake) was not acknowledged by a
    clinician before its deadline. Sent once per escalation level, for paging: 1 the deadline passed (the
    clinician on call), 2 still unacknowledged one escalation interval later (the clinical lead), 3 another
    interval later (the medical director)."""

    event_type: ClassVar[str] = "org.hearth.screening.safety-review-overdue.v1"

    safety_item_id: Identifier = Field(description="Id of the safety item; acknowledge it at the screening API.")
    assessment_id: Identifier = Field(description="Id of the screening assessment that raised it.")
    phq9_item9: StrictInt = Field(ge=1, le=3, description="The PHQ-9 item 9 answer (1-3) that raised the item.")
    raised_at: UtcDatetime = Field(description="When the item was raised: the intake's time (UTC).")
    acknowledge_by: UtcDatetime = Field(description="The acknowledgement deadline that passed (UTC).")
    escalation_level: Literal[1, 2, 3] = Field(
        description="1 the deadline passed, 2 one escalation interval later, 3 two intervals later."
    )

    @field_validator("acknowledge_by")
    @classmethod
    def _deadline_after_raising(cls, value: UtcDatetime, info: ValidationInfo) -> UtcDatetime:
        raised = info.data.get("raised_at")
        if raised is not None and value < raised:
            raise ValueError("must not be before raised_at")
        return value

    @classmethod
    def example(cls) -> Self:
        return cls(
            safety_item_id="saf-3e8a41",
            assessment_id="asm-5d1c0a",
            phq9_item9=1,
            raised_at=EXAMPLE_AT,
            acknowledge_by=EXAMPLE_AT + timedelta(hours=1),
            escalation_level=1,
        )
