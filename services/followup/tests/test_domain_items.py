"""Care-team items: which facts raise one, how urgent, raised once, resolved once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hearth.contracts import AdverseEventKind, AdverseEventReported, CheckInMissed
from hearth.followup.domain import Refused, items, mood

AT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def missed(level: int, index: int = 3) -> CheckInMissed:
    return CheckInMissed.example().model_copy(
        update={"escalation_level": level, "check_in_index": index, "consecutive_misses": level}
    )


@pytest.mark.parametrize("level", [1, 2])
def test_lower_escalation_levels_raise_no_item(level: int) -> None:
    assert items.for_missed_check_in("pt-001", missed(level), AT) is None


def test_the_emergency_level_raises_one_urgent_item_per_session() -> None:
    first = items.for_missed_check_in("pt-001", missed(3, index=3), AT)
    later = items.for_missed_check_in("pt-001", missed(3, index=4), AT + timedelta(minutes=30))
    assert first is not None and later is not None
    assert (first.kind, first.urgency, first.session_id) == ("emergency_escalation", "urgent", "ses-4c9e10")
    assert first.details is not None and first.details["escalation_level"] == 3
    assert first.item_id == later.item_id  # the same emergency: one item


@pytest.mark.parametrize(
    ("kind", "severity", "urgency"),
    [
        (AdverseEventKind.NAUSEA_VOMITING, "mild", "normal"),
        (AdverseEventKind.HYPERTENSION, "moderate", "normal"),
        (AdverseEventKind.HYPERTENSION, "severe", "urgent"),
        (AdverseEventKind.OTHER, "life_threatening", "urgent"),
        (AdverseEventKind.SUICIDAL_IDEATION, "mild", "urgent"),
        (AdverseEventKind.RESPIRATORY_DEPRESSION, "moderate", "urgent"),
    ],
)
def test_every_adverse_event_raises_an_item(kind: AdverseEventKind, severity: str, urgency: str) -> None:
    data = AdverseEventReported.example().model_copy(update={"kind": kind, "severity": severity})
    item = items.for_adverse_event("pt-001", data, AT)
    assert (item.kind, item.urgency) == ("adverse_event", urgency)
    assert item.details == {"kind": kind.value, "severity": severity, "occurred_at": data.occurred_at.isoformat()}


def test_item_ids_follow_the_fact_that_raised_them() -> None:
    a = AdverseEventReported.example()
    b = a.model_copy(update={"adverse_event_id": "ae-other"})
    assert items.for_adverse_event("pt-001", a, AT).item_id == items.for_adverse_event("pt-001", a, AT).item_id
    assert items.for_adverse_event("pt-001", a, AT).item_id != items.for_adverse_event("pt-001", b, AT).item_id


@pytest.mark.parametrize(("answer", "raised"), [(0, False), (1, True), (3, True)])
def test_a_self_harm_answer_above_zero_raises_an_urgent_item(answer: int, raised: bool) -> None:
    m = mood.measure("m-1", "pt-001", AT, (0,) * 8 + (answer,), None)
    item = items.for_measurement(m)
    assert (item is not None) is raised
    if item is not None:
        assert (item.kind, item.urgency, item.patient_id) == ("self_harm_answer", "urgent", "pt-001")


def test_resolving_twice_is_refused() -> None:
    item = items.for_adverse_event("pt-001", AdverseEventReported.example(), AT)
    done = items.resolve(item, "cl-1", "called the patient", AT + timedelta(hours=1))
    assert (done.resolved_by, done.resolution_note) == ("cl-1", "called the patient")
    with pytest.raises(Refused) as refused:
        items.resolve(done, "cl-2", None, AT + timedelta(hours=2))
    assert refused.value.code == "item_already_resolved"
