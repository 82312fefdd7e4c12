"""Fulfillment's events as FHIR: one MedicationDispense per treatment box, tracked by the carrier's number."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hearth.contracts import BoxDelivered, BoxLost, BoxReturned, BoxShipped, Event
from hearth.fhir import codes
from hearth.fhir.common import Resource, base, identifier, instant, ketamine, lozenges, patient
from hearth.fhir.common import reference as ref


def _dispense(
    event: Event[Any], order_id: str, approval_id: str, box: int, status: str, summary: str, at: datetime
) -> Resource:
    return {
        **base("MedicationDispense", (order_id, box), at, f"Box {box}: {summary}"),
        "identifier": [identifier(codes.BOX_ID, f"{order_id}/{box}")],
        "status": status,
        "medicationCodeableConcept": ketamine(),
        "subject": patient(event.subject),
        "authorizingPrescription": [ref("MedicationRequest", approval_id)],
    }


def on_box_shipped(event: Event[BoxShipped]) -> list[Resource]:
    """In progress: prepared and on its way, with the carrier's tracking number as an identifier."""
    d = event.data
    dispense = _dispense(
        event, d.order_id, d.approval_id, d.box_number, "in-progress", f"shipped by {d.carrier}", event.time
    )
    dispense["identifier"].append(identifier(codes.tracking_system(d.carrier), d.tracking_number))
    return [
        {
            **dispense,
            "quantity": lozenges(d.doses_in_box),
            "whenPrepared": instant(event.time),
            "note": [{"text": f"Shipped by {d.carrier} to {d.ship_to_state}; adult signature required"}],
        }
    ]


def on_box_delivered(event: Event[BoxDelivered]) -> list[Resource]:
    """Completed: handed over with an adult signature."""
    d = event.data
    dispense = _dispense(event, d.order_id, d.approval_id, d.box_number, "completed", "delivered", event.time)
    return [{**dispense, "quantity": lozenges(d.doses_in_box), "whenHandedOver": instant(d.delivered_at)}]


def on_box_returned(event: Event[BoxReturned]) -> list[Resource]:
    """Stopped: the box came back to the pharmacy undelivered."""
    return [_stopped(event, event.data, "returned", "returned to the pharmacy undelivered")]


def on_box_lost(event: Event[BoxLost]) -> list[Resource]:
    """Stopped: the carrier reported the box lost."""
    return [_stopped(event, event.data, "lost", "reported lost by the carrier")]


def _stopped(event: Event[Any], d: BoxReturned | BoxLost, code: str, text: str) -> Resource:
    dispense = _dispense(event, d.order_id, d.approval_id, d.box_number, "stopped", text, event.time)
    return {**dispense, "statusReasonCodeableConcept": codes.concept(codes.DISPENSE_STATUS_REASON, code, text)}
