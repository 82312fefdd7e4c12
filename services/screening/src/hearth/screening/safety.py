"""Safety items, as pure rules: a PHQ-9 item 9 answer above 0 at intake raises one, with a deadline for a
clinician to acknowledge it; each time a deadline passes unacknowledged the item escalates one level (and
`safety-review-overdue` is emitted), up to level 3.  No I/O, no clock: `now` is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from hearth.contracts import SafetyReviewOverdue

from .domain import Assessment

MAX_LEVEL = 3  # 1 the clinician on call, 2 the clinical lead, 3 the medical director (the contract's levels)
Status = Literal["open", "overdue", "acknowledged", "resolved"]


@dataclass(frozen=True)
class SafetyPolicy:
    acknowledge_within: timedelta = timedelta(hours=1)
    escalate_every: timedelta = timedelta(minutes=30)


class SafetyRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SafetyItem:
    id: str
    assessment_id: str
    patient_id: str
    phq9_item9: int
    raised_at: datetime
    acknowledge_by: datetime
    escalation_level: int = 0
    last_escalated_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution_note: str | None = None  # free text: stored and audited, never emitted

    @property
    def status(self) -> Status:
        if self.resolved_at is not None:
            return "resolved"
        if self.acknowledged_at is not None:
            return "acknowledged"
        return "overdue" if self.escalation_level > 0 else "open"

    def overdue_event(self) -> SafetyReviewOverdue:
        return SafetyReviewOverdue(
            safety_item_id=self.id,
            assessment_id=self.assessment_id,
            phq9_item9=self.phq9_item9,
            raised_at=self.raised_at,
            acknowledge_by=self.acknowledge_by,
            escalation_level=self.escalation_level,
        )


def raise_for(assessment: Assessment, policy: SafetyPolicy, *, item_id: str) -> SafetyItem | None:
    answer = assessment.intake.phq9[8]
    if answer == 0:
        return None
    at = assessment.submitted_at
    return SafetyItem(item_id, assessment.id, assessment.intake.patient_id, answer, at, at + policy.acknowledge_within)


def escalate(
    item: SafetyItem, *, now: datetime, policy: SafetyPolicy
) -> tuple[SafetyItem, SafetyReviewOverdue | None, datetime | None]:
    """The deadline (or the last escalation's interval) passed: one level up, the event to emit, and when to
    escalate next (none at the last level).  An acknowledged item, or one at the last level, stays as it is."""
    if item.acknowledged_at is not None or item.escalation_level >= MAX_LEVEL:
        return item, None, None
    item = replace(item, escalation_level=item.escalation_level + 1, last_escalated_at=now)
    due = now + policy.escalate_every if item.escalation_level < MAX_LEVEL else None
    return item, item.overdue_event(), due


def acknowledge(item: SafetyItem, *, by: str, now: datetime) -> SafetyItem:
    if item.acknowledged_at is not None:
        raise SafetyRefused(
            "already_acknowledged", f"the safety item was already acknowledged by {item.acknowledged_by}"
        )
    return replace(item, acknowledged_at=now, acknowledged_by=by)


def resolve(item: SafetyItem, *, by: str, note: str | None, now: datetime) -> SafetyItem:
    """Resolving also acknowledges an item nobody had acknowledged yet."""
    if item.resolved_at is not None:
        raise SafetyRefused("already_resolved", "the safety item was already resolved")
    if item.acknowledged_at is None:
        item = acknowledge(item, by=by, now=now)
    return replace(item, resolved_at=now, resolved_by=by, resolution_note=note)
