"""The service's durable timers, each named for its deadline; keys are derived from what they watch."""

from __future__ import annotations

from typing import ClassVar

from hearth.kit.tx import TimerPayload


class IntegrationWindowOpens(TimerPayload):
    kind: ClassVar[str] = "integration-window-opens"
    session_id: str

    @staticmethod
    def key(session_id: str) -> str:
        return f"integration-opens:{session_id}"


class IntegrationWindowCloses(TimerPayload):
    kind: ClassVar[str] = "integration-window-closes"
    session_id: str

    @staticmethod
    def key(session_id: str) -> str:
        return f"integration-closes:{session_id}"


class DoseReviewDeadline(TimerPayload):
    kind: ClassVar[str] = "dose-review-due"
    patient_id: str

    @staticmethod
    def key(patient_id: str) -> str:
        return f"dose-review:{patient_id}"
