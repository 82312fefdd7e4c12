"""A patient's events folded into current FHIR resources; a Bundle of them; Bulk Data NDJSON by type.

Each event maps to whole resources on its own (`resources_of`). Events about the same thing (an approval and its
revocation, a box shipped then delivered, a session started then completed) map to the same resource id; the fold
applies them in event time order and merges each into what the earlier ones made (`merge`), so the result is the
current state, whatever order the topics delivered them in.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from hearth.contracts import (
    AdverseEventReported,
    ApprovalRevoked,
    Approved,
    BoxDelivered,
    BoxLost,
    BoxReturned,
    BoxShipped,
    CheckInMissed,
    DoseReviewDue,
    Event,
    IntegrationCompleted,
    IntegrationDue,
    IntegrationOverdue,
    SafetyReviewOverdue,
    Screened,
    SessionCompleted,
    SessionStarted,
)
from hearth.fhir import codes, followup, fulfillment, screening, session
from hearth.fhir.common import Resource, instant, resource_id

Mapping_ = Callable[[Event[Any]], list[Resource]]

MAPPINGS: Mapping[str, Mapping_] = {
    Screened.event_type: screening.on_screened,
    SafetyReviewOverdue.event_type: screening.on_safety_review_overdue,
    Approved.event_type: screening.on_approved,
    ApprovalRevoked.event_type: screening.on_approval_revoked,
    BoxShipped.event_type: fulfillment.on_box_shipped,
    BoxDelivered.event_type: fulfillment.on_box_delivered,
    BoxReturned.event_type: fulfillment.on_box_returned,
    BoxLost.event_type: fulfillment.on_box_lost,
    SessionStarted.event_type: session.on_session_started,
    CheckInMissed.event_type: session.on_check_in_missed,
    SessionCompleted.event_type: session.on_session_completed,
    AdverseEventReported.event_type: session.on_adverse_event_reported,
    IntegrationDue.event_type: followup.on_integration_due,
    IntegrationOverdue.event_type: followup.on_integration_overdue,
    IntegrationCompleted.event_type: followup.on_integration_completed,
    DoseReviewDue.event_type: followup.on_dose_review_due,
}
"""Event type → its mapping. Types not listed (declined, order-cancelled) add nothing a resource here holds:
a decline leaves the screening's resources as they are, a cancelled order is the revoked prescription."""


def resources_of(event: Event[Any]) -> list[Resource]:
    """The resources one event maps to, each valid on its own (none for a type without a mapping)."""
    mapping = MAPPINGS.get(event.type)
    return [] if mapping is None else mapping(event)


def merge(earlier: Any, later: Any) -> Any:
    """`later` over `earlier`: objects merge key by key, lists keep every distinct item in order, values of
    `later` replace those of `earlier`."""
    if isinstance(earlier, dict) and isinstance(later, dict):
        merged = dict(earlier)
        for key, value in later.items():
            merged[key] = merge(earlier[key], value) if key in earlier else value
        return merged
    if isinstance(earlier, list) and isinstance(later, list):
        return earlier + [item for item in later if item not in earlier]
    return later


def in_order(events: Iterable[Event[Any]]) -> list[Event[Any]]:
    """Distinct events (a relay may re-send one after a crash) in time order; ties by id, so the order is stable."""
    unique = {str(event.id): event for event in events}
    return sorted(unique.values(), key=lambda event: (event.time, str(event.id)))


def journey(events: Iterable[Event[Any]]) -> list[Resource]:
    """The current resources of the events (of one or many patients), in the order they first appeared."""
    ordered = in_order(events)
    found: dict[tuple[str, str], Resource] = {}
    for event in ordered:
        for resource in resources_of(event):
            key = (resource["resourceType"], resource["id"])
            found[key] = merge(found[key], resource) if key in found else resource
    screenings: dict[str, list[Event[Screened]]] = defaultdict(list)
    for event in ordered:
        if event.type == Screened.event_type:
            screenings[event.subject].append(event)
    outcomes = [r for series in screenings.values() for r in followup.outcomes(series)]
    return settle_revocations(list(found.values())) + outcomes


def settle_revocations(resources: list[Resource]) -> list[Resource]:
    """A revoked prescription (status `stopped`) under which no dose was taken becomes `cancelled`, as R4 defines
    them: cancelled is withdrawn before any administration, stopped is halted after some."""
    administered = {r["request"]["reference"] for r in resources if r["resourceType"] == "MedicationAdministration"}
    return [
        {**r, "status": "cancelled"}
        if r["resourceType"] == "MedicationRequest"
        and r["status"] == "stopped"
        and f"MedicationRequest/{r['id']}" not in administered
        else r
        for r in resources
    ]


def full_url(resource: Resource) -> str:
    """Where a resource lives under the project's base: relative references resolve against it in a Bundle."""
    return f"{codes.BASE}{resource['resourceType']}/{resource['id']}"


def bundle(patient_id: str, resources: Iterable[Resource], *, timestamp: datetime) -> Resource:
    """A Bundle of type collection holding `resources` (one patient's journey)."""
    return {
        "resourceType": "Bundle",
        "id": resource_id("Bundle", patient_id, instant(timestamp)),
        "meta": {"lastUpdated": instant(timestamp)},
        "type": "collection",
        "timestamp": instant(timestamp),
        "entry": [{"fullUrl": full_url(r), "resource": r} for r in resources],
    }


def updated_since(resources: Iterable[Resource], since: datetime | None) -> list[Resource]:
    """The resources last changed at or after `since` (all of them when it is None), as Bulk Data's _since."""
    if since is None:
        return list(resources)
    return [r for r in resources if datetime.fromisoformat(r["meta"]["lastUpdated"]) >= since]


def ndjson_by_type(resources: Iterable[Resource]) -> dict[str, str]:
    """Bulk Data files: resource type → NDJSON text (one resource per line), types in alphabetical order."""
    lines: dict[str, list[str]] = defaultdict(list)
    for resource in resources:
        lines[resource["resourceType"]].append(json.dumps(resource, separators=(",", ":"), ensure_ascii=False))
    return {kind: "".join(line + "\n" for line in lines[kind]) for kind in sorted(lines)}
