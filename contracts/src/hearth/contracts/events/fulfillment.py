"""Events owned by the fulfillment service: the pharmacy order and its treatment boxes."""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Self

from pydantic import Field

from hearth.contracts.base import EventData
from hearth.contracts.primitives import EXAMPLE_AT, Identifier, StrictInt, UsState, UtcDatetime


# Fields repeated across the box events; a fresh FieldInfo per use, since pydantic owns each one it is given.
def _order() -> Any:
    return Field(description="Id of the pharmacy order (one per approval).")


def _approval() -> Any:
    return Field(description="Id of the approval the order fills.")


def _box() -> Any:
    return Field(ge=1, description="Number of the box within the order, from 1.")


def _doses() -> Any:
    return Field(ge=1, le=24, description="Doses (lozenges) in the box.")


class BoxShipped(EventData):
    """A treatment box left the pharmacy. Ketamine is Schedule III: it ships only to the state the
    prescriber is licensed in and the patient lives in, and an adult must sign for it."""

    event_type: ClassVar[str] = "org.hearth.fulfillment.box-shipped.v1"

    order_id: Identifier = _order()
    approval_id: Identifier = _approval()
    box_number: StrictInt = _box()
    doses_in_box: StrictInt = _doses()
    carrier: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,31}$", description="Carrier code, e.g. ups, fedex, usps.")
    tracking_number: str = Field(pattern=r"^[A-Za-z0-9-]{4,64}$", description="Carrier tracking number.")
    signature_required: Literal[True] = Field(description="Always true: an adult signature is required.")
    ship_to_state: UsState = Field(description="US state the box ships to.")

    @classmethod
    def example(cls) -> Self:
        return cls(
            order_id="ord-81f3a2",
            approval_id="apr-2b7e91",
            box_number=1,
            doses_in_box=8,
            carrier="ups",
            tracking_number="1Z999AA10123456784",
            signature_required=True,
            ship_to_state="CO",
        )


class BoxDelivered(EventData):
    """The carrier delivered a box with an adult signature: its doses are on hand for sessions."""

    event_type: ClassVar[str] = "org.hearth.fulfillment.box-delivered.v1"

    order_id: Identifier = _order()
    approval_id: Identifier = _approval()
    box_number: StrictInt = _box()
    doses_in_box: StrictInt = _doses()
    delivered_at: UtcDatetime = Field(description="When the carrier recorded the delivery (UTC).")

    @classmethod
    def example(cls) -> Self:
        return cls(
            order_id="ord-81f3a2",
            approval_id="apr-2b7e91",
            box_number=1,
            doses_in_box=8,
            delivered_at=EXAMPLE_AT,
        )


class OrderCancelled(EventData):
    """An order was cancelled before it shipped, e.g. because its approval was revoked."""

    event_type: ClassVar[str] = "org.hearth.fulfillment.order-cancelled.v1"

    order_id: Identifier = _order()
    approval_id: Identifier = _approval()
    reason: Literal["approval_revoked", "patient_request", "pharmacy_unable_to_fill", "other"] = Field(
        description="Why the order was cancelled."
    )

    @classmethod
    def example(cls) -> Self:
        return cls(order_id="ord-81f3a2", approval_id="apr-2b7e91", reason="approval_revoked")


class BoxReturned(EventData):
    """A shipped box came back to the pharmacy undelivered; its doses are not on hand."""

    event_type: ClassVar[str] = "org.hearth.fulfillment.box-returned.v1"

    order_id: Identifier = _order()
    approval_id: Identifier = _approval()
    box_number: StrictInt = _box()

    @classmethod
    def example(cls) -> Self:
        return cls(order_id="ord-81f3a2", approval_id="apr-2b7e91", box_number=1)


class BoxLost(EventData):
    """The carrier reported a shipped box lost; the loss of a controlled substance is audited."""

    event_type: ClassVar[str] = "org.hearth.fulfillment.box-lost.v1"

    order_id: Identifier = _order()
    approval_id: Identifier = _approval()
    box_number: StrictInt = _box()

    @classmethod
    def example(cls) -> Self:
        return cls(order_id="ord-81f3a2", approval_id="apr-2b7e91", box_number=1)
