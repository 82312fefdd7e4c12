"""Follow-up's events as FHIR Tasks (integration, dose review), and the mood outcomes against the baseline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hearth.contracts import DoseReviewDue, Event, IntegrationCompleted, IntegrationDue, IntegrationOverdue, Screened
from hearth.fhir import codes
from hearth.fhir.common import Resource, base, identifier, instant, patient, percent
from hearth.fhir.common import reference as ref

_INTEGRATION = codes.concept(codes.TASK, "integration-session", "Integration session with a therapist")
RESPONSE_REDUCTION = 50.0
"""PHQ-9 reduction from the baseline, in percent, that counts as a response."""
REMISSION_BELOW = 5
"""PHQ-9 total below which a patient is in remission."""


def _integration(event: Event[Any], session_id: str, status: str, business: str) -> Resource:
    return {
        **base("Task", ("integration", session_id), event.time, f"Integration after the session: {business}"),
        "status": status,
        "businessStatus": {"text": business},
        "intent": "order",
        "code": _INTEGRATION,
        "focus": ref("Encounter", session_id),
        "for": patient(event.subject),
        "lastModified": instant(event.time),
    }


def on_integration_due(event: Event[IntegrationDue]) -> list[Resource]:
    """Requested: the window opened with no integration session booked or done."""
    d = event.data
    task = _integration(event, d.session_id, "requested", "due")
    window = {"start": instant(d.window_opens_at), "end": instant(d.window_closes_at)}
    return [{**task, "priority": "routine", "authoredOn": instant(event.time), "restriction": {"period": window}}]


def on_integration_overdue(event: Event[IntegrationOverdue]) -> list[Resource]:
    """Still requested, now urgent: the window closed with none done."""
    d = event.data
    task = _integration(event, d.session_id, "requested", "overdue")
    return [{**task, "priority": "urgent", "restriction": {"period": {"end": instant(d.window_closes_at)}}}]


def on_integration_completed(event: Event[IntegrationCompleted]) -> list[Resource]:
    """Accepted when booked, completed when done."""
    d = event.data
    status = "completed" if d.booked_or_done == "done" else "accepted"
    task = _integration(event, d.session_id, status, d.booked_or_done)
    task["identifier"] = [identifier(codes.INTEGRATION_ID, d.integration_id)]
    task["lastModified"] = instant(d.completed_at)
    return [task]


def on_dose_review_due(event: Event[DoseReviewDue]) -> list[Resource]:
    """A requested Task for the prescriber's dose review, due at `due_at`."""
    d = event.data
    first = instant(d.first_session_at)
    return [
        {
            **base("Task", ("dose-review", event.subject, first), event.time, f"Dose review due {instant(d.due_at)}"),
            "status": "requested",
            "businessStatus": {"text": "due"},
            "intent": "order",
            "priority": "routine",
            "code": codes.concept(codes.TASK, "dose-review", "Dose review by the prescriber"),
            "for": patient(event.subject),
            "authoredOn": instant(event.time),
            "lastModified": instant(event.time),
            "restriction": {"period": {"start": first, "end": instant(d.due_at)}},
        }
    ]


def outcomes(screenings: Sequence[Event[Screened]]) -> list[Resource]:
    """For each screening after the first (the baseline), an Observation of the change against the baseline:
    PHQ-9 and GAD-7 change in percent, response (PHQ-9 down by at least 50%) and remission (PHQ-9 below 5)."""
    if len(screenings) < 2:
        return []
    baseline = screenings[0]
    return [_outcome(baseline, later) for later in screenings[1:]]


def _outcome(baseline: Event[Screened], later: Event[Screened]) -> Resource:
    b, d = baseline.data, later.data
    remission = d.phq9_total < REMISSION_BELOW
    components = [_flag("phq9-remission", "Remission: PHQ-9 total below 5", remission)]
    if b.phq9_total > 0:
        change = _change(b.phq9_total, d.phq9_total)
        components[:0] = [
            _percent("phq9-change", "PHQ-9 change from baseline", change),
            _flag("phq9-response", "Response: PHQ-9 down by at least 50% from baseline", -change >= RESPONSE_REDUCTION),
        ]
    if b.gad7_total > 0:
        components.append(_percent("gad7-change", "GAD-7 change from baseline", _change(b.gad7_total, d.gad7_total)))
    summary = f"PHQ-9 {b.phq9_total} to {d.phq9_total}, GAD-7 {b.gad7_total} to {d.gad7_total}"
    return {
        **base("Observation", (d.assessment_id, "outcome-vs-baseline"), later.time, summary),
        "status": "final",
        "category": [{"coding": [codes.SURVEY]}],
        "code": codes.concept(codes.OBSERVATION, "treatment-outcome", "Treatment outcome against the baseline"),
        "subject": patient(later.subject),
        "effectiveDateTime": instant(later.time),
        "component": components,
        "derivedFrom": [ref("Observation", s.assessment_id, k) for s in (b, d) for k in ("phq9", "gad7")],
    }


def _change(before: int, after: int) -> float:
    return round(100.0 * (after - before) / before, 1)


def _percent(code: str, text: str, value: float) -> Resource:
    return {"code": codes.concept(codes.OBSERVATION, code, text), "valueQuantity": percent(value)}


def _flag(code: str, text: str, value: bool) -> Resource:
    return {"code": codes.concept(codes.OBSERVATION, code, text), "valueBoolean": value}
