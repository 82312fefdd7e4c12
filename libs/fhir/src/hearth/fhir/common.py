"""What every mapping shares: stable resource ids, references, narratives, quantities and timestamps."""

from __future__ import annotations

import html
import uuid
from datetime import UTC, datetime
from typing import Any

from hearth.fhir import codes

Resource = dict[str, Any]
"""A FHIR R4 resource as its JSON object."""

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, codes.BASE)


def resource_id(resource_type: str, *key: object) -> str:
    """A stable id for the resource of `resource_type` that `key` identifies (a UUID, valid as a FHIR id).

    The same key always gives the same id, so the events that change one thing (an approval and its revocation,
    a box shipped then delivered) update one resource, and an export run twice gives the same resources.
    """
    return str(uuid.uuid5(_NAMESPACE, "/".join((resource_type, *map(str, key)))))


def reference(resource_type: str, *key: object) -> dict[str, str]:
    """A relative reference to the resource that :func:`resource_id` names."""
    return {"reference": f"{resource_type}/{resource_id(resource_type, *key)}"}


def patient(patient_id: str) -> dict[str, Any]:
    """The patient as a logical reference: the pseudonymous id under its identifier system, nothing else."""
    return {"type": "Patient", "identifier": identifier(codes.PATIENT_ID, patient_id)}


def practitioner(prescriber_id: str) -> dict[str, Any]:
    """A prescriber as a logical reference by pseudonymous id."""
    return {"type": "Practitioner", "identifier": identifier(codes.PRESCRIBER_ID, prescriber_id)}


def identifier(system: str, value: str) -> dict[str, str]:
    return {"system": system, "value": value}


def instant(moment: datetime) -> str:
    """A FHIR dateTime/instant in UTC, e.g. ``2026-11-20T15:00:00Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def narrative(summary: str) -> dict[str, str]:
    """A generated narrative: `summary` as escaped XHTML."""
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{html.escape(summary)}</div>'}


def mg(value: int) -> dict[str, Any]:
    return {"value": value, "unit": "mg", "system": codes.UCUM, "code": "mg"}


def mmhg(value: int) -> dict[str, Any]:
    return {"value": value, "unit": "mmHg", "system": codes.UCUM, "code": "mm[Hg]"}


def lozenges(count: int) -> dict[str, Any]:
    # A unit without a code: UCUM has no lozenge, and an annotation such as {lozenge} is ignored when comparing.
    return {"value": count, "unit": "lozenge"}


def percent(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "%", "system": codes.UCUM, "code": "%"}


def base(resource_type: str, key: tuple[object, ...], at: datetime, summary: str) -> Resource:
    """The elements every resource starts with: type, stable id, lastUpdated (the event's time) and narrative."""
    return {
        "resourceType": resource_type,
        "id": resource_id(resource_type, *key),
        "meta": {"lastUpdated": instant(at)},
        "text": narrative(summary),
    }


def ketamine(text: str = "ketamine sublingual lozenge") -> dict[str, Any]:
    return {"coding": [codes.KETAMINE], "text": text}
