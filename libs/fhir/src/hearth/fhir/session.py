"""Session's events as FHIR: the virtual Encounter, the dose taken, the check-ins and adverse events."""

from __future__ import annotations

from typing import Any

from hearth.contracts import AdverseEventReported, CheckInMissed, Event, SessionCompleted, SessionStarted
from hearth.fhir import codes
from hearth.fhir.common import Resource, base, identifier, instant, ketamine, mg, patient
from hearth.fhir.common import reference as ref

_SESSION_TYPE = codes.concept(codes.ENCOUNTER_TYPE, "dosing-session", "Supervised at-home ketamine dosing session")
_SERIOUSNESS = {
    "mild": codes.coding(codes.AE_SERIOUSNESS, "Non-serious", "Non-serious"),
    "moderate": codes.coding(codes.AE_SERIOUSNESS, "Non-serious", "Non-serious"),
    "severe": codes.coding(codes.AE_SERIOUSNESS, "Serious", "Serious"),
    "life_threatening": codes.coding(codes.AE_SERIOUSNESS, "SeriousIsLifeThreatening", "Is Life-threatening"),
}
# AdverseEventSeverity has mild | moderate | severe: life-threatening is severe (and serious).
_SEVERITY = {"mild": "mild", "moderate": "moderate", "severe": "severe", "life_threatening": "severe"}


def _encounter(event: Event[Any], session_id: str, status: str, summary: str) -> Resource:
    return {
        **base("Encounter", (session_id,), event.time, summary),
        "identifier": [identifier(codes.SESSION_ID, session_id)],
        "status": status,
        "class": codes.VIRTUAL,
        "type": [_SESSION_TYPE],
        "subject": patient(event.subject),
    }


def on_session_started(event: Event[SessionStarted]) -> list[Resource]:
    """The Encounter in progress and the MedicationAdministration of the dose."""
    d = event.data
    kind = "dose-finding session" if d.dose_finding else "session"
    summary = f"Session {d.session_number} ({kind}): {d.dose_mg} mg, {len(d.check_ins_due)} check-ins scheduled"
    encounter = _encounter(event, d.session_id, "in-progress", summary)
    encounter["period"] = {"start": instant(d.started_at)}
    dose: Resource = {
        **base("MedicationAdministration", (d.session_id,), event.time, f"Ketamine {d.dose_mg} mg sublingual"),
        "identifier": [identifier(codes.SESSION_ID, d.session_id)],
        "status": "completed",
        "medicationCodeableConcept": ketamine(),
        "subject": patient(event.subject),
        "context": ref("Encounter", d.session_id),
        "effectiveDateTime": instant(d.started_at),
        "request": ref("MedicationRequest", d.approval_id),
        "dosage": {
            "text": f"{d.dose_mg} mg sublingual" + (" (dose-finding)" if d.dose_finding else ""),
            "route": {"coding": [codes.SUBLINGUAL], "text": "sublingual"},
            "dose": mg(d.dose_mg),
        },
    }
    return [encounter, dose]


def on_check_in_missed(event: Event[CheckInMissed]) -> list[Resource]:
    """An Observation of the missed check-in, with the misses in a row and the escalation level."""
    d = event.data
    summary = f"Check-in {d.check_in_index + 1} missed ({d.consecutive_misses} in a row, level {d.escalation_level})"
    return [
        {
            **base("Observation", (d.session_id, "check-in", d.check_in_index), event.time, summary),
            "status": "final",
            "code": codes.concept(codes.OBSERVATION, "check-in", "Clinician check-in during the dosing session"),
            "subject": patient(event.subject),
            "encounter": ref("Encounter", d.session_id),
            "effectiveDateTime": instant(d.due_at),
            "valueCodeableConcept": codes.concept(codes.OBSERVATION, "check-in-missed", "missed"),
            "component": [
                _count("consecutive-missed-check-ins", "Check-ins missed in a row", d.consecutive_misses),
                _count("escalation-level", "Escalation level", d.escalation_level),
            ],
        }
    ]


def _count(code: str, text: str, value: int) -> Resource:
    return {"code": codes.concept(codes.OBSERVATION, code, text), "valueInteger": value}


def on_session_completed(event: Event[SessionCompleted]) -> list[Resource]:
    """The Encounter finished, and an Observation of the check-ins missed in the whole session."""
    d = event.data
    summary = f"Session {d.session_number} finished (closed by {d.closed_by})"
    encounter = _encounter(event, d.session_id, "finished", summary)
    encounter["period"] = {"end": instant(d.ended_at)}
    missed: Resource = {
        **base("Observation", (d.session_id, "missed-check-ins"), event.time, f"{d.missed_check_ins} check-ins missed"),
        "status": "final",
        "code": codes.concept(codes.OBSERVATION, "missed-check-ins", "Check-ins missed during the dosing session"),
        "subject": patient(event.subject),
        "encounter": ref("Encounter", d.session_id),
        "effectiveDateTime": instant(d.ended_at),
        "valueInteger": d.missed_check_ins,
    }
    return [encounter, missed]


def on_adverse_event_reported(event: Event[AdverseEventReported]) -> list[Resource]:
    """An AdverseEvent with its kind, severity and seriousness, suspecting the session's dose."""
    d = event.data
    kind, severity = d.kind.replace("_", " "), d.severity.replace("_", " ")
    return [
        {
            **base("AdverseEvent", (d.adverse_event_id,), event.time, f"Adverse event: {kind} ({severity})"),
            "identifier": identifier(codes.ADVERSE_EVENT_ID, d.adverse_event_id),
            "actuality": "actual",
            "event": codes.concept(codes.AE_KIND, d.kind, kind),
            "subject": patient(event.subject),
            "encounter": ref("Encounter", d.session_id),
            "date": instant(d.occurred_at),
            "recordedDate": instant(event.time),
            "seriousness": {"coding": [_SERIOUSNESS[d.severity]], "text": severity},
            "severity": {"coding": [codes.coding(codes.AE_SEVERITY, _SEVERITY[d.severity])], "text": severity},
            "suspectEntity": [{"instance": ref("MedicationAdministration", d.session_id)}],
        }
    ]
