"""Care-team follow-up items: what needs a person, raised from events and mood answers, resolved by a clinician.

An item's id is derived from what raised it (`source_key`), so the same fact raises one item however often it
arrives: one per adverse event, one per session that reached the emergency escalation level, one per PHQ-9
submission with a self-harm answer above 0.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from hearth.contracts import AdverseEventReported, CheckInMissed

from .errors import Refused
from .mood import Measurement, needs_urgent_review

Urgency = Literal["urgent", "normal"]
ItemKind = Literal["emergency_escalation", "adverse_event", "self_harm_answer"]

EMERGENCY_LEVEL = 3
_URGENT_SEVERITIES = frozenset({"severe", "life_threatening"})
_URGENT_KINDS = frozenset({"suicidal_ideation", "respiratory_depression"})
_NAMESPACE = uuid.UUID("5b0f1c8e-3f4a-4d8e-9c1b-7f2e6a9d0c31")


@dataclass(frozen=True)
class FollowUpItem:
    item_id: str
    source_key: str
    patient_id: str
    kind: ItemKind
    urgency: Urgency
    raised_at: datetime
    session_id: str | None = None
    details: dict[str, Any] | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution_note: str | None = None


def _item(
    source_key: str,
    patient_id: str,
    kind: ItemKind,
    urgency: Urgency,
    raised_at: datetime,
    session_id: str | None,
    details: dict[str, Any],
) -> FollowUpItem:
    item_id = str(uuid.uuid5(_NAMESPACE, source_key))
    return FollowUpItem(item_id, source_key, patient_id, kind, urgency, raised_at, session_id, details)


def for_missed_check_in(patient_id: str, data: CheckInMissed, raised_at: datetime) -> FollowUpItem | None:
    """Only the emergency level raises an item (one per session: later misses are the same emergency)."""
    if data.escalation_level < EMERGENCY_LEVEL:
        return None
    details = {
        "check_in_index": data.check_in_index,
        "due_at": data.due_at.isoformat(),
        "consecutive_misses": data.consecutive_misses,
        "escalation_level": data.escalation_level,
    }
    key = f"emergency:{data.session_id}"
    return _item(key, patient_id, "emergency_escalation", "urgent", raised_at, data.session_id, details)


def for_adverse_event(patient_id: str, data: AdverseEventReported, raised_at: datetime) -> FollowUpItem:
    """Every adverse event is followed up; severe ones and those of an urgent kind urgently."""
    urgent = data.severity in _URGENT_SEVERITIES or data.kind.value in _URGENT_KINDS
    details = {"kind": data.kind.value, "severity": data.severity, "occurred_at": data.occurred_at.isoformat()}
    key = f"adverse-event:{data.adverse_event_id}"
    return _item(
        key, patient_id, "adverse_event", "urgent" if urgent else "normal", raised_at, data.session_id, details
    )


def for_measurement(measurement: Measurement) -> FollowUpItem | None:
    if not needs_urgent_review(measurement):
        return None
    details = {"measurement_id": measurement.measurement_id, "phq9_item9": measurement.self_harm_answer}
    key = f"self-harm:{measurement.measurement_id}"
    return _item(key, measurement.patient_id, "self_harm_answer", "urgent", measurement.measured_at, None, details)


def resolve(item: FollowUpItem, by: str, note: str | None, now: datetime) -> FollowUpItem:
    if item.resolved_at is not None:
        raise Refused(
            "item_already_resolved",
            "this follow-up item is already resolved",
            {"item_id": item.item_id, "resolved_at": item.resolved_at.isoformat()},
        )
    return replace(item, resolved_at=now, resolved_by=by, resolution_note=note)
