"""The order state machine: opening, packing, shipping (Schedule III rules), carrier outcomes, revocation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hearth.contracts import BoxDelivered, BoxLost, BoxReturned, BoxShipped, OrderCancelled
from hearth.fulfillment import domain
from hearth.fulfillment.model import Destination, InvalidInput, Refused, UnknownBox

from .orders import NOW, ON_FILE, POLICY, approval, delivered, opened, shipped


def test_an_approval_opens_an_order_with_one_box_of_the_foundation_plan():
    result = domain.open_order("ord-1", approval(), "pt-001", doses_used=0, revoked_for=None, now=NOW, policy=POLICY)
    order = result.order
    assert (order.status, order.patient_state, order.dose_count) == ("open", "CO", 8)
    assert [(b.number, b.doses, b.state) for b in order.boxes] == [(1, 8, "created")]
    assert [c.action for c in result.changes] == ["order_created", "box_created"]
    assert all(c.event is None for c in result.changes)


@pytest.mark.parametrize(("box_size", "first"), [(8, 8), (10, 10), (1, 1), (24, 24)])
def test_an_extended_plan_starts_with_a_box_of_the_configured_size(box_size, first):
    order = opened("extended", policy=domain.Policy(box_size=box_size))
    assert [(b.number, b.doses) for b in order.boxes] == [(1, first)]


def test_a_foundation_plan_ships_in_one_box_whatever_the_box_size():
    assert [b.doses for b in opened(policy=domain.Policy(box_size=3)).boxes] == [8]


def test_a_revocation_that_came_first_leaves_a_cancelled_order_that_can_never_ship():
    result = domain.open_order(
        "ord-1", approval(), "pt-001", doses_used=0, revoked_for="adverse_event", now=NOW, policy=POLICY
    )
    order = result.order
    assert order.status == "cancelled" and order.cancel_reason == "approval_revoked"
    assert [b.state for b in order.boxes] == ["cancelled"]
    events = [c.event for c in result.changes if c.event is not None]
    assert events == [OrderCancelled(order_id="ord-1", approval_id="apr-1", reason="approval_revoked")]
    with pytest.raises(Refused) as refused:
        domain.pack(order, 1, now=NOW)
    assert refused.value.current_state == "cancelled"


def test_pack_then_ship_emits_one_box_shipped_to_the_approved_state_with_signature():
    order = domain.pack(opened(), 1, now=NOW).order
    result = domain.ship(order, 1, carrier="ups", tracking_number="1Z999", destination=ON_FILE, now=NOW)
    [change] = result.changes
    assert change.action == "box_shipped" and change.details["from"] == "packed"
    assert change.event == BoxShipped(
        order_id="ord-1",
        approval_id="apr-1",
        box_number=1,
        doses_in_box=8,
        carrier="ups",
        tracking_number="1Z999",
        signature_required=True,
        ship_to_state="CO",
    )
    box = result.order.box(1)
    assert (box.state, box.carrier, box.tracking_number, box.shipped_at) == ("shipped", "ups", "1Z999", NOW)


def test_ship_before_pack_is_refused_with_the_current_state():
    with pytest.raises(Refused) as refused:
        domain.ship(opened(), 1, carrier="ups", tracking_number="1Z999", destination=ON_FILE, now=NOW)
    assert (refused.value.code, refused.value.current_state, refused.value.box_number) == (
        "illegal_transition",
        "created",
        1,
    )


@pytest.mark.parametrize(
    ("destination", "reason"),
    [
        (Destination("missing"), "no shipping details"),
        (Destination("erased"), "erased"),
        (Destination("provided", "NM"), "the approval is for CO"),
    ],
)
def test_ship_needs_details_on_file_in_the_approved_state(destination, reason):
    order = domain.pack(opened(), 1, now=NOW).order
    with pytest.raises(Refused) as refused:
        domain.ship(order, 1, carrier="ups", tracking_number="1Z999", destination=destination, now=NOW)
    assert refused.value.code == "ship_refused" and refused.value.current_state == "packed"
    assert any(reason in r for r in refused.value.reasons)


def test_a_refusal_lists_every_failed_condition():
    with pytest.raises(Refused) as refused:
        domain.ship(opened(), 1, carrier="ups", tracking_number="1Z999", destination=Destination("missing"), now=NOW)
    assert refused.value.code == "illegal_transition" and len(refused.value.reasons) == 2


def test_the_same_step_reported_twice_changes_nothing_but_a_different_shipment_is_refused():
    order = shipped(opened())
    assert domain.ship(order, 1, carrier="ups", tracking_number="1Z0001", destination=ON_FILE, now=NOW).changes == ()
    assert domain.pack(domain.pack(opened(), 1, now=NOW).order, 1, now=NOW).changes == ()
    with pytest.raises(Refused) as refused:
        domain.ship(order, 1, carrier="ups", tracking_number="1Z0002", destination=ON_FILE, now=NOW)
    assert refused.value.current_state == "shipped"


@pytest.mark.parametrize("action", ["pack", "cancel"])
def test_no_step_goes_back(action):
    order = shipped(opened())
    with pytest.raises(Refused) as refused:
        if action == "pack":
            domain.pack(order, 1, now=NOW)
        else:
            domain._moved(order.box(1), "cancel", NOW)
    assert refused.value.current_state == "shipped"


def test_an_unknown_box_is_named():
    with pytest.raises(UnknownBox) as unknown:
        domain.pack(opened(), 2, now=NOW)
    assert (unknown.value.order_id, unknown.value.number) == ("ord-1", 2)


def test_delivery_emits_box_delivered_at_the_carriers_time():
    order = shipped(opened())
    at = NOW + timedelta(hours=20)
    result = domain.deliver(order, 1, delivered_at=at, now=NOW + timedelta(days=1), policy=POLICY)
    assert result.changes[0].event == BoxDelivered(
        order_id="ord-1", approval_id="apr-1", box_number=1, doses_in_box=8, delivered_at=at
    )
    assert result.order.status == "completed" and result.order.doses_on_hand == 8


@pytest.mark.parametrize(
    ("at", "ok"),
    [("shipped - 1s", False), ("shipped", True), ("now + skew", True), ("now + skew + 1s", False)],
)
def test_delivered_at_lies_between_shipping_and_now_plus_the_clock_skew(at, ok):
    order = shipped(opened())
    shipped_at, now, second = order.box(1).shipped_at, NOW + timedelta(hours=3), timedelta(seconds=1)
    moment = {
        "shipped - 1s": shipped_at - second,
        "shipped": shipped_at,
        "now + skew": now + POLICY.clock_skew,
        "now + skew + 1s": now + POLICY.clock_skew + second,
    }[at]
    if ok:
        assert domain.deliver(order, 1, delivered_at=moment, now=now, policy=POLICY).order.box(1).delivered_at == moment
    else:
        with pytest.raises(InvalidInput) as invalid:
            domain.deliver(order, 1, delivered_at=moment, now=now, policy=POLICY)
        assert invalid.value.field_name == "delivered_at"


def test_delivery_before_shipping_is_refused():
    with pytest.raises(Refused) as refused:
        domain.deliver(domain.pack(opened(), 1, now=NOW).order, 1, delivered_at=None, now=NOW, policy=POLICY)
    assert refused.value.current_state == "packed"


@pytest.mark.parametrize(
    ("mark", "state", "flag", "event"),
    [(domain.mark_returned, "returned", "box_returned", BoxReturned), (domain.mark_lost, "lost", "box_lost", BoxLost)],
)
def test_a_returned_or_lost_box_is_published_and_flagged(mark, state, flag, event):
    result = mark(shipped(opened()), 1, now=NOW)
    assert result.order.box(1).state == state and result.order.flags == (flag,)
    assert [c.action for c in result.changes] == [f"box_{state}", "order_flagged"]
    assert result.changes[0].event == event(order_id="ord-1", approval_id="apr-1", box_number=1)
    assert mark(result.order, 1, now=NOW).changes == ()
    with pytest.raises(Refused):
        mark(opened(), 1, now=NOW)


@pytest.mark.parametrize("packed", [False, True])
def test_revocation_before_shipping_cancels_the_order(packed):
    order = domain.pack(opened(), 1, now=NOW).order if packed else opened()
    result = domain.revoke(order, "adverse_event", NOW)
    assert result.order.status == "cancelled" and result.order.box(1).state == "cancelled"
    assert [c.action for c in result.changes] == ["box_cancelled", "order_cancelled"]
    assert isinstance(result.changes[-1].event, OrderCancelled)
    assert domain.revoke(result.order, "adverse_event", NOW).changes == ()
    with pytest.raises(Refused) as refused:
        domain.ship(result.order, 1, carrier="ups", tracking_number="1Z999", destination=ON_FILE, now=NOW)
    assert refused.value.current_state == "cancelled"


def test_revocation_after_shipping_is_recorded_and_flagged_without_an_event():
    result = domain.revoke(shipped(opened()), "clinical_judgement", NOW)
    assert result.order.status == "revoked" and result.order.flags == ("revoked_after_shipping",)
    assert result.order.box(1).state == "shipped"
    assert all(c.event is None for c in result.changes)
    # the box is still on its way: the carrier's outcome is recorded
    assert (
        domain.deliver(result.order, 1, delivered_at=None, now=NOW + timedelta(days=1), policy=POLICY)
        .order.box(1)
        .state
        == "delivered"
    )


def test_revocation_between_boxes_cancels_the_unshipped_box_and_flags_the_order():
    order = domain.use_doses(delivered(opened("extended")), 7, now=NOW, policy=POLICY).order
    assert [b.state for b in order.boxes] == ["delivered", "created"]
    result = domain.revoke(order, "adverse_event", NOW)
    assert [b.state for b in result.order.boxes] == ["delivered", "cancelled"]
    assert result.order.status == "revoked" and "revoked_after_shipping" in result.order.flags
    assert all(c.event is None for c in result.changes)


def test_shipping_details_are_accepted_only_in_the_approved_state_of_an_open_order():
    domain.accept_destination(opened(), "CO")
    with pytest.raises(Refused) as wrong_state:
        domain.accept_destination(opened(), "TX")
    assert (wrong_state.value.code, wrong_state.value.current_state) == ("state_not_approved", "open")
    with pytest.raises(Refused) as closed:
        domain.accept_destination(opened(revoked_for="adverse_event"), "CO")
    assert (closed.value.code, closed.value.current_state) == ("order_closed", "cancelled")
