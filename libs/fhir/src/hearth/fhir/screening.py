"""Screening's events as FHIR: the questionnaires and their scores, the safety flag, the prescription."""

from __future__ import annotations

from typing import Any

from hearth.contracts import ApprovalRevoked, Approved, Event, SafetyReviewOverdue, Screened
from hearth.contracts.events.screening import BloodPressure
from hearth.fhir import codes
from hearth.fhir.common import (
    Resource,
    base,
    identifier,
    instant,
    ketamine,
    lozenges,
    mg,
    mmhg,
    patient,
    practitioner,
)
from hearth.fhir.common import reference as ref

_PRIORITY = {1: "urgent", 2: "asap", 3: "stat"}  # safety review escalation level → Task.priority
_ITEM9_TEXT = "PHQ-9 item 9: thoughts of being better off dead or of self-harm"


def on_screened(event: Event[Screened]) -> list[Resource]:
    """Two QuestionnaireResponses (PHQ-9, GAD-7), an Observation per total, the outcome, the blood pressure when
    measured, and a Flag on item 9."""
    d, pid = event.data, event.subject
    found = [
        _questionnaire(event, "phq9", codes.PHQ9_QUESTIONNAIRE, codes.PHQ9_TOTAL, d.phq9_total, "PHQ-9"),
        _questionnaire(event, "gad7", codes.GAD7_QUESTIONNAIRE, codes.GAD7_TOTAL, d.gad7_total, "GAD-7"),
        _total(event, "phq9", codes.PHQ9_TOTAL, d.phq9_total, d.phq9_band, "PHQ-9"),
        _total(event, "gad7", codes.GAD7_TOTAL, d.gad7_total, d.gad7_band, "GAD-7"),
        _outcome(event),
    ]
    if d.blood_pressure is not None:
        found.append(_blood_pressure(event, d.blood_pressure))
    if d.safety_flag:
        found.append(
            {
                **base("Flag", (d.assessment_id, "item9"), event.time, f"Safety: {_ITEM9_TEXT} answered above 0"),
                "identifier": [identifier(codes.ASSESSMENT_ID, d.assessment_id)],
                "status": "active",
                "category": [{"coding": [codes.SAFETY], "text": "Safety"}],
                "code": {
                    "coding": [codes.PHQ9_ITEM9],
                    "text": f"{_ITEM9_TEXT} answered above 0: urgent clinician review",
                },
                "subject": patient(pid),
                "period": {"start": instant(event.time)},
            }
        )
    return found


def _blood_pressure(event: Event[Screened], bp: BloodPressure) -> Resource:
    """The intake's reading, conforming to the R4 core blood pressure profile (validated against it)."""
    d, reading = event.data, f"{bp.systolic_mmhg}/{bp.diastolic_mmhg} mmHg"
    found = base("Observation", (d.assessment_id, "blood-pressure"), event.time, f"Blood pressure {reading}")
    found["meta"]["profile"] = [codes.BP_PROFILE]
    return {
        **found,
        "identifier": [identifier(codes.ASSESSMENT_ID, f"{d.assessment_id}/blood-pressure")],
        "status": "final",
        "category": [{"coding": [codes.VITAL_SIGNS], "text": "Vital Signs"}],
        "code": {"coding": [codes.BLOOD_PRESSURE], "text": "Blood pressure"},
        "subject": patient(event.subject),
        "effectiveDateTime": instant(event.time),
        "component": [
            {"code": {"coding": [codes.SYSTOLIC], "text": "Systolic"}, "valueQuantity": mmhg(bp.systolic_mmhg)},
            {"code": {"coding": [codes.DIASTOLIC], "text": "Diastolic"}, "valueQuantity": mmhg(bp.diastolic_mmhg)},
        ],
    }


def _questionnaire(
    event: Event[Screened], key: str, questionnaire: str, total: dict[str, Any], score: int, name: str
) -> Resource:
    d = event.data
    return {
        **base("QuestionnaireResponse", (d.assessment_id, key), event.time, f"{name} at screening: total {score}"),
        "identifier": identifier(codes.ASSESSMENT_ID, f"{d.assessment_id}/{key}"),
        "questionnaire": questionnaire,
        "status": "completed",
        "subject": patient(event.subject),
        "authored": instant(event.time),
        "source": patient(event.subject),
        "item": [{"linkId": f"/{total['code']}", "text": total["display"], "answer": [{"valueInteger": score}]}],
    }


def _total(event: Event[Screened], key: str, code: dict[str, Any], score: int, band: str, name: str) -> Resource:
    d, severity = event.data, band.replace("_", " ")
    return {
        **base("Observation", (d.assessment_id, key), event.time, f"{name} total score {score} ({severity})"),
        "identifier": [identifier(codes.ASSESSMENT_ID, f"{d.assessment_id}/{key}")],
        "status": "final",
        "category": [{"coding": [codes.SURVEY]}],
        "code": {"coding": [code], "text": f"{name} total score"},
        "subject": patient(event.subject),
        "effectiveDateTime": instant(event.time),
        "performer": [patient(event.subject)],  # self-reported
        "valueInteger": score,
        "component": [
            {
                "code": codes.concept(codes.OBSERVATION, "severity-band", f"{name} severity band"),
                "valueCodeableConcept": codes.concept(codes.OBSERVATION, f"{key}-{band}", severity),
            }
        ],
        "derivedFrom": [ref("QuestionnaireResponse", d.assessment_id, key)],
    }


def _outcome(event: Event[Screened]) -> Resource:
    d = event.data
    outcome = d.outcome.replace("_", " ")
    reasons = [
        {
            "code": {"coding": [codes.coding(codes.OBSERVATION, "screening-reason")], "text": "Reason"},
            "valueCodeableConcept": codes.concept(codes.REASON, reason, reason.replace("_", " ")),
        }
        for reason in d.reasons
    ]
    found: Resource = {
        **base("Observation", (d.assessment_id, "outcome"), event.time, f"Screening outcome: {outcome}"),
        "identifier": [identifier(codes.ASSESSMENT_ID, d.assessment_id)],
        "status": "final",
        "code": {"coding": [codes.coding(codes.OBSERVATION, "screening-outcome")], "text": "Screening outcome"},
        "subject": patient(event.subject),
        "effectiveDateTime": instant(event.time),
        "valueCodeableConcept": codes.concept(codes.OUTCOME, d.outcome, outcome),
        "derivedFrom": [ref("QuestionnaireResponse", d.assessment_id, k) for k in ("phq9", "gad7")],
    }
    if reasons:  # FHIR has no empty arrays
        found["component"] = reasons
    return found


def on_safety_review_overdue(event: Event[SafetyReviewOverdue]) -> list[Resource]:
    """The item-9 answer as an Observation and the unacknowledged review as a Task, escalating in priority."""
    d = event.data
    level = f"escalation level {d.escalation_level}"
    item9: Resource = {
        **base("Observation", (d.assessment_id, "item9"), event.time, f"{_ITEM9_TEXT}: {d.phq9_item9}"),
        "identifier": [identifier(codes.ASSESSMENT_ID, f"{d.assessment_id}/item9")],
        "status": "final",
        "category": [{"coding": [codes.SURVEY]}],
        "code": {"coding": [codes.PHQ9_ITEM9], "text": _ITEM9_TEXT},
        "subject": patient(event.subject),
        "effectiveDateTime": instant(d.raised_at),
        "performer": [patient(event.subject)],  # self-reported
        "valueInteger": d.phq9_item9,
    }
    review: Resource = {
        **base("Task", ("safety-review", d.safety_item_id), event.time, f"Safety review overdue ({level})"),
        "identifier": [identifier(codes.SAFETY_ITEM_ID, d.safety_item_id)],
        "status": "requested",
        "businessStatus": {"text": f"overdue, {level}"},
        "intent": "order",
        "priority": _PRIORITY[d.escalation_level],
        "code": codes.concept(codes.TASK, "safety-review", "Clinician review of a self-harm answer"),
        "focus": ref("Flag", d.assessment_id, "item9"),
        "for": patient(event.subject),
        "authoredOn": instant(d.raised_at),
        "lastModified": instant(event.time),
        "restriction": {"period": {"end": instant(d.acknowledge_by)}},
    }
    return [item9, review]


def on_approved(event: Event[Approved]) -> list[Resource]:
    """The prescription: ketamine, sublingual, the starting dose; the plan's doses as the dispense request."""
    d = event.data
    plan = f"{d.plan} plan, {d.dose_count} doses"
    note = f"Approved under rules version {d.rules_version}" if d.rules_version else None
    if note and d.regime:
        note += f", prescribing regime {d.regime}"
    request: Resource = {
        **base(
            "MedicationRequest", (d.approval_id,), event.time, f"Ketamine {d.starting_dose_mg} mg sublingual; {plan}"
        ),
        "identifier": [identifier(codes.APPROVAL_ID, d.approval_id)],
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": ketamine(),
        "subject": patient(event.subject),
        "authoredOn": instant(event.time),
        "requester": practitioner(d.prescriber_id),
        "courseOfTherapyType": {
            "coding": [codes.coding(codes.COURSE_OF_THERAPY, "acute", "Short course (acute) therapy")],
            "text": f"{d.plan} plan",
        },
        "supportingInformation": [ref("QuestionnaireResponse", d.assessment_id, k) for k in ("phq9", "gad7")],
        "dosageInstruction": [
            {
                "text": f"{d.starting_dose_mg} mg sublingual lozenge per supervised session; the first two sessions"
                " are dose-finding",
                "route": {"coding": [codes.SUBLINGUAL], "text": "sublingual"},
                "doseAndRate": [{"doseQuantity": mg(d.starting_dose_mg)}],
            }
        ],
        "dispenseRequest": {"quantity": lozenges(d.dose_count)},
    }
    if note:
        request["note"] = [{"text": note}]
    return [request]


def on_approval_revoked(event: Event[ApprovalRevoked]) -> list[Resource]:
    """The same MedicationRequest, stopped, with the reason. R4 has no `revoked` MedicationRequest status: the
    journey makes it `cancelled` when no dose was taken under it (`journey.settle_revocations`)."""
    d = event.data
    reason = d.reason.replace("_", " ")
    return [
        {
            **base("MedicationRequest", (d.approval_id,), event.time, f"Ketamine prescription revoked: {reason}"),
            "identifier": [identifier(codes.APPROVAL_ID, d.approval_id)],
            "status": "stopped",
            "statusReason": codes.concept(codes.REASON, d.reason, reason),
            "intent": "order",
            "medicationCodeableConcept": ketamine(),
            "subject": patient(event.subject),
        }
    ]
