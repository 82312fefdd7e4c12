"""Safety items: raised for every PHQ-9 item 9 answer above 0, a deadline to acknowledge, escalation levels when
it passes, acknowledgement and resolution by a named clinician."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hearth.screening import safety
from hearth.screening.domain import Criteria, assess
from hearth.screening.examples import answers, intake

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
POLICY = safety.SafetyPolicy(acknowledge_within=timedelta(hours=1), escalate_every=timedelta(minutes=30))
CRITERIA = Criteria(served_states=frozenset({"CO"}))


def flagged(item9: int = 2):
    a = assess(intake(phq9=answers(18, 9, item9=item9)), CRITERIA, assessment_id="asm-1", submitted_by="x", now=NOW)
    item = safety.raise_for(a, POLICY, item_id="saf-1")
    assert item is not None
    return item


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_every_item9_answer_above_0_raises_an_item_with_a_deadline(item9):
    item = flagged(item9)
    assert (item.phq9_item9, item.raised_at, item.acknowledge_by) == (item9, NOW, NOW + timedelta(hours=1))
    assert (item.status, item.escalation_level) == ("open", 0)


def test_no_item_without_a_self_harm_answer():
    a = assess(intake(), CRITERIA, assessment_id="asm-2", submitted_by="x", now=NOW)
    assert safety.raise_for(a, POLICY, item_id="saf-2") is None


def test_an_unacknowledged_deadline_escalates_level_by_level_then_stops():
    item = flagged()
    at = item.acknowledge_by
    levels, due = [], at
    while due is not None:
        item, event, due = safety.escalate(item, now=at, policy=POLICY)
        assert event is not None
        levels.append((event.escalation_level, event.acknowledge_by, at))
        at = due or at
    assert [level for level, _, _ in levels] == [1, 2, 3]
    assert {deadline for _, deadline, _ in levels} == {NOW + timedelta(hours=1)}
    assert [fired for _, _, fired in levels] == [NOW + timedelta(minutes=m) for m in (60, 90, 120)]
    assert (item.status, item.escalation_level) == ("overdue", 3)


def test_an_acknowledged_item_does_not_escalate():
    item = safety.acknowledge(flagged(), by="clin-1", now=NOW + timedelta(minutes=5))
    after, event, due = safety.escalate(item, now=item.acknowledge_by, policy=POLICY)
    assert (after, event, due) == (item, None, None)
    assert (item.status, item.acknowledged_by) == ("acknowledged", "clin-1")


def test_acknowledging_twice_is_refused_and_resolving_acknowledges():
    item = safety.acknowledge(flagged(), by="clin-1", now=NOW)
    with pytest.raises(safety.SafetyRefused) as twice:
        safety.acknowledge(item, by="clin-2", now=NOW)
    assert twice.value.code == "already_acknowledged"
    resolved = safety.resolve(flagged(), by="clin-3", note="called; safety plan agreed", now=NOW + timedelta(hours=2))
    assert (resolved.status, resolved.acknowledged_by, resolved.resolved_by) == ("resolved", "clin-3", "clin-3")
    with pytest.raises(safety.SafetyRefused) as again:
        safety.resolve(resolved, by="clin-3", note=None, now=NOW)
    assert again.value.code == "already_resolved"


def test_the_overdue_event_carries_clinical_facts_only():
    _, event, _ = safety.escalate(flagged(3), now=NOW + timedelta(hours=1), policy=POLICY)
    assert event is not None
    assert set(event.model_dump()) == {
        "safety_item_id", "assessment_id", "phq9_item9", "raised_at", "acknowledge_by", "escalation_level",
    }  # fmt: skip
    assert (event.safety_item_id, event.assessment_id, event.phq9_item9) == ("saf-1", "asm-1", 3)
