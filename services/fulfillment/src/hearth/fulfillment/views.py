"""What the HTTP API returns: response models (so the OpenAPI document is complete). None of them carries
personal data except `ShippingDetailsView`, which is only ever returned by a read, never stored."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, Field

from .model import Box, BoxState, Destination, DetailsStatus, Order, OrderStatus
from .vault import ShippingDetails


class BoxView(BaseModel):
    box_number: int = Field(description="Number of the box within the order, from 1")
    doses: int = Field(description="Doses (lozenges) in the box")
    state: BoxState
    carrier: str | None = None
    tracking_number: str | None = None
    ship_to_state: str | None = None
    created_at: datetime
    packed_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    returned_at: datetime | None = None
    lost_at: datetime | None = None
    cancelled_at: datetime | None = None

    @classmethod
    def of(cls, box: Box) -> Self:
        data = {k: v for k, v in vars(box).items() if k != "number"}
        return cls(box_number=box.number, **data)


class DestinationView(BaseModel):
    status: DetailsStatus = Field(description="missing, provided, or erased (the patient's key was destroyed)")
    ship_to_state: str | None = Field(default=None, description="US state of the details on file")


class OrderView(BaseModel):
    order_id: str
    approval_id: str
    patient_id: str = Field(description="Pseudonymous patient id")
    plan: Literal["foundation", "extended"]
    dose_count: int
    patient_state: str = Field(description="The approved US state: boxes ship only there")
    status: OrderStatus
    doses_used: int = Field(description="Sessions started under the approval (one dose each)")
    doses_delivered: int
    doses_on_hand: int
    flagged: bool = Field(description="Something needs operations' attention (see flags)")
    flags: list[str]
    revoked_at: datetime | None
    revocation_reason: str | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    issued_at: datetime = Field(description="When the prescription (the approval) was issued")
    resupply_refused: str | None = Field(
        description="Why the last resupply box was refused (Schedule III: fill window or refills), while flagged"
    )
    created_at: datetime
    boxes: list[BoxView]
    shipping_details: DestinationView

    @classmethod
    def of(cls, order: Order, destination: Destination) -> Self:
        return cls(
            order_id=order.order_id,
            approval_id=order.approval_id,
            patient_id=order.patient_id,
            plan=order.plan,
            dose_count=order.dose_count,
            patient_state=order.patient_state,
            status=order.status,
            doses_used=order.doses_used,
            doses_delivered=order.doses_delivered,
            doses_on_hand=order.doses_on_hand,
            issued_at=order.issued,
            resupply_refused=order.resupply_refusal,
            flagged=bool(order.flags),
            flags=list(order.flags),
            revoked_at=order.revoked_at,
            revocation_reason=order.revocation_reason,
            cancelled_at=order.cancelled_at,
            cancel_reason=order.cancel_reason,
            created_at=order.created_at,
            boxes=[BoxView.of(b) for b in order.boxes],
            shipping_details=DestinationView(status=destination.status, ship_to_state=destination.state),
        )


class OrderList(BaseModel):
    orders: list[OrderView]


class ShippingDetailsReceipt(BaseModel):
    """The answer to giving shipping details: what was recorded, without echoing the personal data."""

    order_id: str
    status: DetailsStatus
    ship_to_state: str
    updated_at: datetime


class ShippingDetailsView(BaseModel):
    order_id: str
    recipient_name: str
    address_line1: str
    address_line2: str | None
    city: str
    state: str
    postal_code: str
    phone: str | None
    adult_signature_required: Literal[True] = True

    @classmethod
    def of(cls, order_id: str, details: ShippingDetails) -> Self:
        return cls(order_id=order_id, **vars(details))


class AuditEntry(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    details: dict[str, Any]


class AuditTrail(BaseModel):
    entity: str
    entries: list[AuditEntry]
