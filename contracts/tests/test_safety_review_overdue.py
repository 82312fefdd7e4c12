"""The safety-review-overdue event: what a paging system needs, no personal data, and its bounds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hearth.contracts import ContractError, SafetyReviewOverdue, build_event, parse_event, topic_for
from hearth.contracts.primitives import EXAMPLE_AT


def test_it_travels_on_its_own_screening_topic_and_round_trips():
    event = build_event(SafetyReviewOverdue.example(), subject="pt-7Q2M9X4K")
    assert topic_for(event) == "screening.safety-review-overdue.v1"
    back = parse_event(event.to_json())
    assert back.data == event.data
    assert back.data.escalation_level == 1


@pytest.mark.parametrize(
    "change",
    [{"escalation_level": 0}, {"escalation_level": 4}, {"phq9_item9": 0}, {"phq9_item9": 4}, {"name": "Jane"}],
)
def test_out_of_range_or_unknown_fields_are_refused(change):
    values = SafetyReviewOverdue.example().model_dump() | change
    with pytest.raises(ContractError):
        SafetyReviewOverdue(**values)


def test_the_deadline_cannot_precede_the_raising():
    values = SafetyReviewOverdue.example().model_dump() | {"acknowledge_by": EXAMPLE_AT - timedelta(minutes=1)}
    with pytest.raises(ContractError, match="acknowledge_by"):
        SafetyReviewOverdue(**values)
