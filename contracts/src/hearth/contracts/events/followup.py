"""Events owned by the follow-up service: integration after each session and the dose review."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, Literal, Self

from pydantic import Field, ValidationInfo, field_validator

from hearth.contracts.base import EventData
from hearth.contracts.primitives import EXAMPLE_AT, Identifier, UtcDatetime


class IntegrationDue(EventData):
    """The integration window after a session opened with no integration session booked or done."""

    event_type: ClassVar[str] = "org.hearth.followup.integration-due.v1"

    session_id: Identifier = Field(description="Id of the dosing session the integration follows.")
    window_opens_at: UtcDatetime = Field(description="When the integration window opens (UTC).")
    window_closes_at: UtcDatetime = Field(description="When the window closes; after it the integration is overdue.")

    @field_validator("window_closes_at")
    @classmethod
    def _closes_after_opening(cls, value: UtcDatetime, info: ValidationInfo) -> UtcDatetime:
        opens = info.data.get("window_opens_at")
        if opens is not None and value <= opens:
            raise ValueError("must be later than window_opens_at")
        return value

    @classmethod
    def example(cls) -> Self:
        return cls(
            session_id="ses-4c9e10",
            window_opens_at=EXAMPLE_AT + timedelta(hours=24),
            window_closes_at=EXAMPLE_AT + timedelta(hours=72),
        )


class IntegrationOverdue(EventData):
    """The integration window closed with no integration session done."""

    event_type: ClassVar[str] = "org.hearth.followup.integration-overdue.v1"

    session_id: Identifier = Field(description="Id of the dosing session the integration follows.")
    window_closes_at: UtcDatetime = Field(description="When the integration window closed (UTC).")

    @classmethod
    def example(cls) -> Self:
        return cls(session_id="ses-4c9e10", window_closes_at=EXAMPLE_AT + timedelta(hours=72))


class IntegrationCompleted(EventData):
    """An integration session with a therapist was booked or done for a dosing session."""

    event_type: ClassVar[str] = "org.hearth.followup.integration-completed.v1"

    session_id: Identifier = Field(description="Id of the dosing session the integration follows.")
    integration_id: Identifier = Field(description="Id of the integration session.")
    completed_at: UtcDatetime = Field(description="When it was booked or done (UTC).")
    booked_or_done: Literal["booked", "done"] = Field(
        description="booked: scheduled within the window; done: it took place."
    )

    @classmethod
    def example(cls) -> Self:
        return cls(
            session_id="ses-4c9e10",
            integration_id="int-0c5a66",
            completed_at=EXAMPLE_AT + timedelta(hours=30),
            booked_or_done="done",
        )


class DoseReviewDue(EventData):
    """The dose review is due (by default 4 weeks after the first session)."""

    event_type: ClassVar[str] = "org.hearth.followup.dose-review-due.v1"

    first_session_at: UtcDatetime = Field(description="When the patient's first session started (UTC).")
    due_at: UtcDatetime = Field(description="When the dose review is due (UTC).")

    @field_validator("due_at")
    @classmethod
    def _after_first_session(cls, value: UtcDatetime, info: ValidationInfo) -> UtcDatetime:
        first = info.data.get("first_session_at")
        if first is not None and value < first:
            raise ValueError("must not be earlier than first_session_at")
        return value

    @classmethod
    def example(cls) -> Self:
        return cls(first_session_at=EXAMPLE_AT, due_at=EXAMPLE_AT + timedelta(weeks=4))
