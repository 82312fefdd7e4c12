"""The pharmacy order and its treatment boxes as immutable values, and the errors of the rules in `domain.py`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from hearth.contracts import EventData
from hearth.rules import RuleBook, Rules

BoxState = Literal["created", "packed", "shipped", "delivered", "returned", "lost", "cancelled"]
OrderStatus = Literal["open", "completed", "cancelled", "revoked"]
Flag = Literal["revoked_after_shipping", "box_returned", "box_lost", "resupply_refused"]
DetailsStatus = Literal["missing", "provided", "erased"]


@dataclass(frozen=True)
class Policy:
    box_size: int = 8
    next_box_threshold: int = 2
    clock_skew: timedelta = timedelta(minutes=5)
    # Schedule III, from the rules file: no fill or refill more than `fill_window_months` after issue (counted in
    # calendar days of `time_zone`), at most `max_refills` refills.
    fill_window_months: int = 6
    max_refills: int = 5
    time_zone: str = "America/New_York"
    rules_version: str = ""

    @classmethod
    def of_rules(
        cls, book: RuleBook, *, box_size: int, next_box_threshold: int, clock_skew: timedelta = timedelta(minutes=5)
    ) -> Policy:
        s = book.schedule_iii
        return cls(
            box_size, next_box_threshold, clock_skew, s.fill_window_months, s.max_refills, book.time_zone, book.version
        )


class Policies:
    """The policy in force now: the box settings with the Schedule III limits of the rules file as it is now
    (the source re-reads the file when it changes)."""

    def __init__(self, source: Rules, *, box_size: int, next_box_threshold: int, clock_skew: timedelta) -> None:
        self.source = source
        self.box_size, self.next_box_threshold, self.clock_skew = box_size, next_box_threshold, clock_skew

    def current(self) -> Policy:
        book = self.source.current()
        return Policy.of_rules(
            book, box_size=self.box_size, next_box_threshold=self.next_box_threshold, clock_skew=self.clock_skew
        )


@dataclass(frozen=True)
class Box:
    number: int
    doses: int
    state: BoxState
    created_at: datetime
    packed_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    returned_at: datetime | None = None
    lost_at: datetime | None = None
    cancelled_at: datetime | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    ship_to_state: str | None = None


@dataclass(frozen=True)
class Order:
    order_id: str
    approval_id: str
    patient_id: str
    plan: Literal["foundation", "extended"]
    dose_count: int
    patient_state: str
    prescriber_license_state: str
    created_at: datetime
    boxes: tuple[Box, ...] = ()
    doses_used: int = 0
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    flags: tuple[str, ...] = ()
    issued_at: datetime | None = None  # when the prescription (the approval) was issued; None: created_at
    resupply_refusal: str | None = None  # why the last resupply was refused (Schedule III), while flagged

    @property
    def issued(self) -> datetime:
        return self.issued_at or self.created_at

    @property
    def status(self) -> OrderStatus:
        if self.cancelled_at is not None:
            return "cancelled"
        if self.revoked_at is not None:
            return "revoked"
        return "completed" if self.doses_delivered >= self.dose_count else "open"

    @property
    def doses_delivered(self) -> int:
        return sum(b.doses for b in self.boxes if b.state == "delivered")

    @property
    def doses_on_hand(self) -> int:
        return max(0, self.doses_delivered - self.doses_used)

    def box(self, number: int) -> Box:
        for box in self.boxes:
            if box.number == number:
                return box
        raise UnknownBox(self.order_id, number)


@dataclass(frozen=True)
class Destination:
    """What the vault knows of an order's shipping details, without the personal data itself."""

    status: DetailsStatus
    state: str | None = None


@dataclass(frozen=True)
class Change:
    """One audited step: `action` and its `details` (never personal data), and the event it publishes, if any."""

    action: str
    details: Mapping[str, Any]
    event: EventData | None = None


@dataclass(frozen=True)
class Result:
    order: Order
    changes: tuple[Change, ...] = field(default_factory=tuple)

    def then(self, other: Result) -> Result:
        return Result(other.order, self.changes + other.changes)


class Refused(Exception):
    """The order's current state does not allow the command; `reasons` lists every failed condition."""

    def __init__(self, code: str, current_state: str, reasons: list[str], box_number: int | None = None) -> None:
        super().__init__(f"{code}: " + "; ".join(reasons))
        self.code = code
        self.current_state = current_state
        self.reasons = tuple(reasons)
        self.box_number = box_number


class UnknownBox(LookupError):
    def __init__(self, order_id: str, number: int) -> None:
        super().__init__(f"order {order_id} has no box {number}")
        self.order_id = order_id
        self.number = number


class InvalidInput(ValueError):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name
