"""The resupply rule of an Extended plan: when the next box is due, how many doses it holds, and whether
Schedule III still allows it. Pure.

Each box is a fill of the prescription (the approval): the first box the fill, each later one a refill. A
refill past `Policy.max_refills`, or any fill after the last day of `Policy.fill_window_months` from the issue
day (21 CFR 1306.22), is refused: the order is flagged `resupply_refused` with the reason, and nothing more ships
under it; a new prescription (a new approval, a new order) is needed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from hearth.rules import ScheduleIII

from .model import Box, BoxState, Change, Order, Policy, Result

IN_FLIGHT: frozenset[BoxState] = frozenset({"created", "packed", "shipped"})
# A returned or lost box halts the rule until operations resolve the flag: a missing controlled substance is
# investigated before anything else ships. A refused resupply halts it too (resolving it runs the rule again).
HALTING_FLAGS = frozenset({"box_returned", "box_lost", "resupply_refused"})
SOURCE = "21 CFR 1306.22(a)"


def last_fill_day(order: Order, policy: Policy) -> tuple[date, date]:
    """The issue day and the last day a box may be filled, in the rules file's time zone."""
    issued = order.issued.astimezone(ZoneInfo(policy.time_zone)).date()
    limits = ScheduleIII(fill_window_months=policy.fill_window_months, max_refills=policy.max_refills, source=SOURCE)
    return issued, limits.last_fill_day(issued)


def expired(order: Order, policy: Policy, now: datetime) -> str | None:
    """Why no box may be filled at `now` any more, or None."""
    issued, last = last_fill_day(order, policy)
    if now.astimezone(ZoneInfo(policy.time_zone)).date() <= last:
        return None
    return (
        f"the prescription was issued on {issued}; a Schedule III prescription may not be filled or refilled more"
        f" than {policy.fill_window_months} months after issue (after {last}, {SOURCE}): a new prescription is needed"
    )


def refusal(order: Order, box_number: int, policy: Policy, now: datetime) -> tuple[str, str] | None:
    """(reason code, message) when Schedule III forbids filling box `box_number` at `now`."""
    refill = box_number - 1
    if refill > policy.max_refills:
        return "refill_limit_reached", (
            f"box {box_number} would be refill {refill}; a Schedule III prescription may be refilled at most"
            f" {policy.max_refills} times ({SOURCE}): at most {policy.max_refills} refills, a new prescription"
            " is needed"
        )
    message = expired(order, policy, now)
    return None if message is None else ("prescription_expired", message)


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
    """The order with its next box added when one is due (audited as box_created), else unchanged; or, when
    Schedule III forbids it, flagged `resupply_refused` with the reason (audited as resupply_refused)."""
    doses = next_box_doses(order, policy)
    if doses == 0:
        return Result(order)
    number = len(order.boxes) + 1
    refused = refusal(order, number, policy, now)
    if refused is not None:
        reason, message = refused
        details = {"box_number": number, "reason": reason, "message": message, "rules_version": policy.rules_version}
        flagged = replace(order, flags=(*order.flags, "resupply_refused"), resupply_refusal=message)
        return Result(
            flagged, (Change("resupply_refused", details), Change("order_flagged", {"flag": "resupply_refused"}))
        )
    box = Box(number=number, doses=doses, state="created", created_at=now)
    details = {"box_number": box.number, "doses_in_box": doses, "doses_on_hand": order.doses_on_hand}
    return Result(replace(order, boxes=(*order.boxes, box)), (Change("box_created", details),))
