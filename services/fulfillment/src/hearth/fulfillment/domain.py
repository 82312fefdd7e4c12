"""The order state machine and the box rules, pure: no I/O, no clock (`now` is passed in).

An order fills one approval and holds boxes. Each box moves created → packed → shipped → delivered, or ends
cancelled (before it ships), returned or lost (after). Foundation ships as one box; Extended in boxes of
`Policy.box_size` doses, the next one created when the doses on hand (delivered minus used in sessions) fall
below `Policy.next_box_threshold` and no box is under way. A revoked approval cancels whatever has not shipped;
once something shipped, the revocation is recorded and the order flagged for operations.

Every function returns a `Result` — the new order and the `Change`s it went through (each audited; some carry
the event to publish) — or raises `Refused` with the current state and every condition that failed. Repeating a
step that already happened with the same data changes nothing (a carrier's callback may arrive twice).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from hearth.contracts import Approved, BoxDelivered, BoxLost, BoxReturned, BoxShipped, EventData, OrderCancelled

from .model import Box, BoxState, Change, Destination, InvalidInput, Order, Policy, Refused, Result
from .resupply import expired, next_box

DEFAULT_POLICY = Policy()

LEFT_PHARMACY: frozenset[BoxState] = frozenset({"shipped", "delivered", "returned", "lost"})

# The box state machine: action -> (states it may start from, state it ends in).
TRANSITIONS: Mapping[str, tuple[frozenset[BoxState], BoxState]] = {
    "pack": (frozenset({"created"}), "packed"),
    "ship": (frozenset({"packed"}), "shipped"),
    "deliver": (frozenset({"shipped"}), "delivered"),
    "return": (frozenset({"shipped"}), "returned"),
    "lose": (frozenset({"shipped"}), "lost"),
    "cancel": (frozenset({"created", "packed"}), "cancelled"),
}


def open_order(
    order_id: str,
    approval: Approved,
    patient_id: str,
    *,
    doses_used: int,
    revoked_for: str | None,
    now: datetime,
    policy: Policy,
    issued_at: datetime | None = None,
) -> Result:
    """The order of a new approval with its first box; cancelled at once when a revocation came first.
    `issued_at`: when the prescription was issued (the approval's time; default `now`)."""
    order = Order(
        order_id=order_id,
        approval_id=approval.approval_id,
        patient_id=patient_id,
        plan=approval.plan,
        dose_count=approval.dose_count,
        patient_state=approval.patient_state,
        prescriber_license_state=approval.prescriber_license_state,
        created_at=now,
        doses_used=doses_used,
        issued_at=issued_at or now,
    )
    details = {"plan": order.plan, "dose_count": order.dose_count, "patient_state": order.patient_state}
    created = Change("order_created", details)
    result = Result(order, (created,)).then(next_box(order, policy, now))
    return result if revoked_for is None else result.then(revoke(result.order, revoked_for, now))


def accept_destination(order: Order, state: str) -> None:
    """Shipping details may be given while boxes can still ship, and only in the approved state."""
    reasons = []
    if order.status != "open":
        reasons.append(f"the order is {order.status}: nothing more will ship")
    if state != order.patient_state:
        reasons.append(f"the approval is for {order.patient_state}; boxes ship only there")
    if reasons:
        code = "order_closed" if order.status != "open" else "state_not_approved"
        raise Refused(code, order.status, reasons)


def pack(order: Order, number: int, *, now: datetime) -> Result:
    box = order.box(number)
    if box.state == "packed":
        return Result(order)
    return _step(order, _moved(box, "pack", now), box.state)


def ship(
    order: Order,
    number: int,
    *,
    carrier: str,
    tracking_number: str,
    destination: Destination,
    now: datetime,
    policy: Policy = DEFAULT_POLICY,
) -> Result:
    """Schedule III: only to the approved state (where the patient lives and the prescriber is licensed), only
    with shipping details on file, never after the prescription's fill window; the adult signature is always
    required."""
    box = order.box(number)
    if box.state == "shipped" and (box.carrier, box.tracking_number) == (carrier, tracking_number):
        return Result(order)
    in_order = box.state in TRANSITIONS["ship"][0]
    reasons = [] if in_order else [_not_allowed(box, "ship")]
    if destination.status == "missing":
        reasons.append("no shipping details are on file for this order")
    elif destination.status == "erased":
        reasons.append("the patient's shipping details were erased; new ones must be given")
    elif destination.state != order.patient_state:
        reasons.append(f"the shipping details are in {destination.state}, the approval is for {order.patient_state}")
    if order.prescriber_license_state != order.patient_state:
        reasons.append("the prescriber is not licensed in the patient's state")
    if (too_late := expired(order, policy, now)) is not None:
        reasons.append(too_late)
    if reasons:
        raise Refused("illegal_transition" if not in_order else "ship_refused", box.state, reasons, number)
    details = {"carrier": carrier, "tracking_number": tracking_number, "ship_to_state": order.patient_state}
    event = BoxShipped(
        order_id=order.order_id,
        approval_id=order.approval_id,
        box_number=number,
        doses_in_box=box.doses,
        signature_required=True,
        **details,
    )
    return _step(order, _moved(box, "ship", now, **details), box.state, event, **details)


def deliver(order: Order, number: int, *, delivered_at: datetime | None, now: datetime, policy: Policy) -> Result:
    box = order.box(number)
    if box.state == "delivered":
        return Result(order)
    at = delivered_at or now
    if box.state in TRANSITIONS["deliver"][0]:
        if at > now + policy.clock_skew:
            raise InvalidInput("delivered_at", "must not lie in the future")
        if box.shipped_at is not None and at < box.shipped_at:
            raise InvalidInput("delivered_at", "must not be before the box shipped")
    delivered = _moved(box, "deliver", at)
    event = BoxDelivered(
        order_id=order.order_id,
        approval_id=order.approval_id,
        box_number=number,
        doses_in_box=box.doses,
        delivered_at=at,
    )
    result = _step(order, delivered, box.state, event)
    return result.then(next_box(result.order, policy, now))


def mark_returned(order: Order, number: int, *, now: datetime) -> Result:
    event = BoxReturned(order_id=order.order_id, approval_id=order.approval_id, box_number=number)
    return _back_from_carrier(order, number, "return", "box_returned", event, now)


def mark_lost(order: Order, number: int, *, now: datetime) -> Result:
    event = BoxLost(order_id=order.order_id, approval_id=order.approval_id, box_number=number)
    return _back_from_carrier(order, number, "lose", "box_lost", event, now)


def revoke(order: Order, reason: str, now: datetime) -> Result:
    """No further box ships. Nothing shipped yet: the order is cancelled. Otherwise: recorded and flagged."""
    if order.revoked_at is not None:
        return Result(order)
    result = Result(order)
    for box in order.boxes:
        if box.state in TRANSITIONS["cancel"][0]:
            result = result.then(_step(result.order, _moved(box, "cancel", now), box.state))
    order = replace(result.order, revoked_at=now, revocation_reason=reason)
    if not any(b.state in LEFT_PHARMACY for b in order.boxes):
        order = replace(order, cancelled_at=now, cancel_reason="approval_revoked")
        event = OrderCancelled(order_id=order.order_id, approval_id=order.approval_id, reason="approval_revoked")
        details = {"reason": "approval_revoked", "revocation_reason": reason}
        return result.then(Result(order, (Change("order_cancelled", details, event),)))
    recorded = Change("approval_revoked_after_shipping", {"revocation_reason": reason})
    return result.then(Result(order, (recorded,))).then(_flag(order, "revoked_after_shipping"))


def use_doses(order: Order, doses_used: int, *, now: datetime, policy: Policy) -> Result:
    """Sessions started under the approval so far (one dose each); may make the next box due."""
    if doses_used <= order.doses_used:
        return Result(order)
    order = replace(order, doses_used=doses_used)
    used = Change("doses_used", {"doses_used": doses_used, "doses_on_hand": order.doses_on_hand})
    return Result(order, (used,)).then(next_box(order, policy, now))


def resolve_flag(order: Order, flag: str, *, now: datetime, policy: Policy) -> Result:
    """Operations dealt with what the flag raised; a halted next-box rule runs again."""
    if flag not in order.flags:
        return Result(order)
    refusal = None if flag == "resupply_refused" else order.resupply_refusal  # looked at again just below
    order = replace(order, flags=tuple(f for f in order.flags if f != flag), resupply_refusal=refusal)
    return Result(order, (Change("flag_resolved", {"flag": flag}),)).then(next_box(order, policy, now))


def _back_from_carrier(order: Order, number: int, action: str, flag: str, event: EventData, now: datetime) -> Result:
    box = order.box(number)
    if box.state == TRANSITIONS[action][1]:
        return Result(order)
    result = _step(order, _moved(box, action, now), box.state, event)
    return result.then(_flag(result.order, flag, box_number=number))


def _flag(order: Order, flag: str, **details: Any) -> Result:
    if flag in order.flags:
        return Result(order)
    return Result(replace(order, flags=(*order.flags, flag)), (Change("order_flagged", {"flag": flag, **details}),))


def _moved(box: Box, action: str, at: datetime, **data: Any) -> Box:
    allowed, target = TRANSITIONS[action]
    if box.state not in allowed:
        raise Refused("illegal_transition", box.state, [_not_allowed(box, action)], box.number)
    changes: dict[str, Any] = {f"{target}_at": at, **data}
    return replace(box, state=target, **changes)


def _not_allowed(box: Box, action: str) -> str:
    allowed = " or ".join(sorted(TRANSITIONS[action][0]))
    return f"box {box.number} is {box.state}; {action} needs a box that is {allowed}"


def _step(order: Order, box: Box, before: BoxState, event: EventData | None = None, **details: Any) -> Result:
    boxes = tuple(box if b.number == box.number else b for b in order.boxes)
    change = Change(
        f"box_{box.state}",
        {"box_number": box.number, "from": before, "to": box.state, "doses_in_box": box.doses, **details},
        event,
    )
    return Result(replace(order, boxes=boxes), (change,))
