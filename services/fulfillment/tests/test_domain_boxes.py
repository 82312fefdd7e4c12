"""The next-box rule (doses on hand against the threshold) and properties that hold after any sequence of steps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hearth.fulfillment import domain
from hearth.fulfillment.model import Destination, Order, Policy, Refused, Result, UnknownBox
from hearth.fulfillment.resupply import IN_FLIGHT, next_box_doses

from .orders import NOW, ON_FILE, POLICY, delivered, opened


def test_the_next_box_is_created_when_doses_on_hand_fall_below_the_threshold():
    order = delivered(opened("extended"))
    at_threshold = domain.use_doses(order, 6, now=NOW, policy=POLICY)  # 2 on hand: not below 2
    assert len(at_threshold.order.boxes) == 1 and at_threshold.order.doses_on_hand == 2
    below = domain.use_doses(at_threshold.order, 7, now=NOW, policy=POLICY)
    assert [(b.number, b.doses, b.state) for b in below.order.boxes] == [(1, 8, "delivered"), (2, 8, "created")]
    assert [c.action for c in below.changes] == ["doses_used", "box_created"]
    assert below.changes[-1].details == {"box_number": 2, "doses_in_box": 8, "doses_on_hand": 1}


@given(threshold=st.integers(1, 24), used=st.integers(0, 8))
def test_the_threshold_boundary(threshold, used):
    policy = Policy(next_box_threshold=threshold)
    order = domain.use_doses(
        delivered(opened("extended", policy=policy), policy=policy), used, now=NOW, policy=policy
    ).order
    assert (len(order.boxes) == 2) == (8 - used < threshold)


def test_an_extended_plan_ships_in_three_boxes_and_then_is_complete():
    order = opened("extended")
    for number, used in ((1, 7), (2, 15), (3, 24)):
        order = domain.use_doses(delivered(order, number), used, now=NOW, policy=POLICY).order
    assert [(b.number, b.doses, b.state) for b in order.boxes] == [(n, 8, "delivered") for n in (1, 2, 3)]
    assert order.status == "completed" and next_box_doses(order, POLICY) == 0


def test_the_last_box_takes_the_rest_of_the_plan():
    policy = Policy(box_size=10)
    order = opened("extended", policy=policy)
    order = domain.use_doses(delivered(order, 1, policy=policy), 9, now=NOW, policy=policy).order
    order = domain.use_doses(delivered(order, 2, policy=policy), 19, now=NOW, policy=policy).order
    assert [b.doses for b in order.boxes] == [10, 10, 4]


def test_sessions_counted_before_the_approval_arrived_count_against_the_first_box():
    order = delivered(opened("extended", doses_used=7))
    assert [b.number for b in order.boxes] == [1, 2]


def test_no_next_box_while_one_is_under_way_or_for_a_foundation_plan():
    extended = domain.use_doses(opened("extended"), 5, now=NOW, policy=POLICY).order
    assert len(extended.boxes) == 1  # box 1 not delivered yet
    foundation = domain.use_doses(delivered(opened()), 8, now=NOW, policy=POLICY).order
    assert len(foundation.boxes) == 1 and foundation.doses_on_hand == 0


def test_a_lost_box_halts_the_rule_until_operations_resolve_the_flag():
    order = domain.mark_lost(
        domain.ship(
            domain.pack(opened("extended"), 1, now=NOW).order,
            1,
            carrier="ups",
            tracking_number="1Z01",
            destination=ON_FILE,
            now=NOW,
        ).order,
        1,
        now=NOW,
    ).order
    assert next_box_doses(order, POLICY) == 0
    resolved = domain.resolve_flag(order, "box_lost", now=NOW, policy=POLICY)
    assert [c.action for c in resolved.changes] == ["flag_resolved", "box_created"]
    assert [(b.number, b.doses, b.state) for b in resolved.order.boxes] == [(1, 8, "lost"), (2, 8, "created")]
    assert domain.resolve_flag(resolved.order, "box_lost", now=NOW, policy=POLICY).changes == ()


def test_the_dose_count_only_grows():
    order = domain.use_doses(opened(), 3, now=NOW, policy=POLICY).order
    assert domain.use_doses(order, 2, now=NOW, policy=POLICY).changes == ()
    assert domain.use_doses(order, 3, now=NOW, policy=POLICY).changes == ()


def test_no_box_for_a_revoked_order():
    order = domain.revoke(delivered(opened("extended")), "adverse_event", NOW).order
    assert domain.use_doses(order, 8, now=NOW, policy=POLICY).order.boxes == order.boxes


# Any sequence of steps, allowed or refused, keeps the order consistent.
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["pack", "ship", "ship_elsewhere", "deliver", "return", "lose", "revoke", "use", "resolve"]),
        st.integers(1, 4),
        st.integers(0, 30),
    ),
    max_size=40,
)


def _apply(order: Order, step: tuple[str, int, int], policy: Policy) -> Result:
    action, number, n = step
    now = NOW + timedelta(hours=n)
    match action:
        case "pack":
            return domain.pack(order, number, now=now)
        case "ship" | "ship_elsewhere":
            where = ON_FILE if action == "ship" else Destination("provided", "TX")
            return domain.ship(order, number, carrier="ups", tracking_number=f"1Z{n:04d}", destination=where, now=now)
        case "deliver":
            return domain.deliver(order, number, delivered_at=None, now=now + timedelta(days=30), policy=policy)
        case "return":
            return domain.mark_returned(order, number, now=now)
        case "lose":
            return domain.mark_lost(order, number, now=now)
        case "revoke":
            return domain.revoke(order, "adverse_event", now)
        case "use":
            return domain.use_doses(order, n, now=now, policy=policy)
        case _:
            return domain.resolve_flag(
                order, ["box_lost", "box_returned", "revoked_after_shipping"][n % 3], now=now, policy=policy
            )


@settings(max_examples=300, deadline=None)
@given(
    plan=st.sampled_from(["foundation", "extended"]),
    box_size=st.integers(1, 24),
    threshold=st.integers(1, 24),
    steps=STEPS,
)
def test_invariants_hold_after_any_sequence_of_steps(plan, box_size, threshold, steps):
    policy = Policy(box_size=box_size, next_box_threshold=threshold)
    order = opened(plan, policy=policy)
    shipped_events = 0
    for step in steps:
        try:
            result = _apply(order, step, policy)
        except (Refused, UnknownBox):
            continue
        shipped_events += sum(1 for c in result.changes if c.action == "box_shipped")
        assert all(c.event is None or c.action in _EMITTING for c in result.changes)
        order = result.order
        boxes = order.boxes
        assert [b.number for b in boxes] == list(range(1, len(boxes) + 1))
        assert sum(1 for b in boxes if b.state in IN_FLIGHT) <= 1
        assert sum(b.doses for b in boxes if b.state not in ("cancelled", "returned", "lost")) <= order.dose_count
        assert all(1 <= b.doses <= (order.dose_count if plan == "foundation" else box_size) for b in boxes)
        assert all(b.ship_to_state in (None, "CO") for b in boxes)
        assert next_box_doses(order, policy) == 0  # the rule is applied as soon as it holds
        if order.status == "cancelled":
            assert not any(b.state in domain.LEFT_PHARMACY for b in boxes)
        if order.revoked_at is not None:
            assert not any(b.state in ("created", "packed") for b in boxes)
    assert shipped_events == sum(1 for b in order.boxes if b.shipped_at is not None)


_EMITTING = {"box_shipped", "box_delivered", "box_returned", "box_lost", "order_cancelled"}


@pytest.mark.parametrize("plan", ["foundation", "extended"])
def test_with_no_step_refused_a_plan_is_delivered_in_full(plan):
    order = opened(plan)
    for _ in range(3):
        for box in order.boxes:
            if box.state == "created":
                order = domain.use_doses(
                    delivered(order, box.number), order.doses_delivered + box.doses, now=NOW, policy=POLICY
                ).order
    assert order.doses_delivered == order.dose_count and order.status == "completed"
