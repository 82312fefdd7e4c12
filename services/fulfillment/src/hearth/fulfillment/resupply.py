"""The resupply rule of an Extended plan: when the next box is due, and how many doses it holds. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from .model import Box, BoxState, Change, Order, Policy, Result

IN_FLIGHT: frozenset[BoxState] = frozenset({"created", "packed", "shipped"})
# A returned or lost box halts the rule until operations resolve the flag: a missing controlled substance is
# investigated before anything else ships.
HALTING_FLAGS = frozenset({"box_returned", "box_lost"})


def next_box_doses(order: Order, policy: Policy) -> int:
    """Doses of the box due now, or 0 when none is: approval active, nothing under way or halted, plan doses
    left, and fewer than the threshold on hand."""
    if order.revoked_at is not None or order.cancelled_at is not None or HALTING_FLAGS & set(order.flags):
        return 0
    if any(b.state in IN_FLIGHT for b in order.boxes):
        return 0
    remaining = order.dose_count - order.doses_delivered
    if remaining <= 0 or order.doses_on_hand >= policy.next_box_threshold:
        return 0
    return remaining if order.plan == "foundation" else min(policy.box_size, remaining)


def next_box(order: Order, policy: Policy, now: datetime) -> Result:
    """The order with its next box added when one is due (audited as box_created), else unchanged."""
    doses = next_box_doses(order, policy)
    if doses == 0:
        return Result(order)
    box = Box(number=len(order.boxes) + 1, doses=doses, state="created", created_at=now)
    details = {"box_number": box.number, "doses_in_box": doses, "doses_on_hand": order.doses_on_hand}
    return Result(replace(order, boxes=(*order.boxes, box)), (Change("box_created", details),))
