"""The erasure of a patient's personal data, announced so every service erases in step."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import Field

from hearth.contracts.base import EventData
from hearth.contracts.primitives import EXAMPLE_AT, UtcDatetime


class PatientErased(EventData):
    """A privacy officer had the patient's personal data erased (HIPAA/GDPR request): the screening service
    destroyed the patient's data keys, and every service that keeps free text about them does the same on
    receipt. Clinical facts, orders, the audit trails and the events stay; what a person wrote can no longer be
    read anywhere."""

    event_type: ClassVar[str] = "org.hearth.screening.patient-erased.v1"

    erased_at: UtcDatetime = Field(description="When the screening service destroyed the patient's keys (UTC).")

    @classmethod
    def example(cls) -> Self:
        return cls(erased_at=EXAMPLE_AT)
