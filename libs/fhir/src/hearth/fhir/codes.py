"""The code systems, codes and identifier systems the mappings use: external ones (LOINC, SNOMED CT, RxNorm, UCUM,
HL7 terminology) and the project's own, all under one base URL that operators may publish definitions at."""

from __future__ import annotations

from typing import Any, Final

LOINC: Final = "http://loinc.org"
SNOMED: Final = "http://snomed.info/sct"
RXNORM: Final = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM: Final = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
FLAG_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/flag-category"
ACT_CODE: Final = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
COURSE_OF_THERAPY: Final = "http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy"
AE_SEVERITY: Final = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
AE_SERIOUSNESS: Final = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"

BASE: Final = "https://hearth.internal/fhir/"
"""Base URL of the project's identifier systems and code systems, and of every bundle entry's fullUrl."""


def system(kind: str, name: str) -> str:
    """``<BASE>sid/<name>`` for an identifier system, ``<BASE>CodeSystem/<name>`` for a code system."""
    return f"{BASE}{kind}/{name}"


# Identifier systems: pseudonymous and domain ids exactly as the events carry them.
PATIENT_ID: Final = system("sid", "patient")
PRESCRIBER_ID: Final = system("sid", "prescriber")
ASSESSMENT_ID: Final = system("sid", "assessment")
APPROVAL_ID: Final = system("sid", "approval")
BOX_ID: Final = system("sid", "box")  # value <order id>/<box number>
SESSION_ID: Final = system("sid", "session")
ADVERSE_EVENT_ID: Final = system("sid", "adverse-event")
INTEGRATION_ID: Final = system("sid", "integration")
SAFETY_ITEM_ID: Final = system("sid", "safety-item")


def tracking_system(carrier: str) -> str:
    """Identifier system of one carrier's tracking numbers, e.g. ``<BASE>sid/tracking/ups``."""
    return system("sid", f"tracking/{carrier}")


# The project's code systems.
REASON: Final = system("CodeSystem", "reason")  # hearth.contracts.ReasonCode values
OUTCOME: Final = system("CodeSystem", "screening-outcome")  # eligible | ineligible | needs_review
OBSERVATION: Final = system("CodeSystem", "observation")
TASK: Final = system("CodeSystem", "task")
AE_KIND: Final = system("CodeSystem", "adverse-event-kind")  # hearth.contracts.AdverseEventKind values
DISPENSE_STATUS_REASON: Final = system("CodeSystem", "dispense-status-reason")
ENCOUNTER_TYPE: Final = system("CodeSystem", "encounter-type")
PLAN: Final = system("CodeSystem", "plan")  # foundation | extended


def coding(system_url: str, code: str, display: str | None = None) -> dict[str, Any]:
    """A Coding; display only where the code system's own display is known."""
    found: dict[str, Any] = {"system": system_url, "code": code}
    if display is not None:
        found["display"] = display
    return found


def concept(system_url: str, code: str, text: str, display: str | None = None) -> dict[str, Any]:
    """A CodeableConcept with one coding and a human-readable text."""
    return {"coding": [coding(system_url, code, display)], "text": text}


# LOINC: the PHQ-9 and GAD-7 panels, their totals and PHQ-9 item 9; blood pressure.
PHQ9_PANEL = coding(LOINC, "44249-1", "PHQ-9 quick depression assessment panel [Reported.PHQ]")
PHQ9_TOTAL = coding(LOINC, "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]")
PHQ9_ITEM9 = coding(
    LOINC,
    "44260-8",
    "Thoughts that you would be better off dead, or of hurting yourself in some way in last 2 weeks [Reported.PHQ]",
)
GAD7_PANEL = coding(LOINC, "69737-5", "Generalized anxiety disorder 7 item (GAD-7)")
GAD7_TOTAL = coding(LOINC, "70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]")

# Canonical URLs of the LOINC panels as FHIR Questionnaires (LOINC's own form).
PHQ9_QUESTIONNAIRE: Final = "http://loinc.org/q/44249-1"
GAD7_QUESTIONNAIRE: Final = "http://loinc.org/q/69737-5"

BLOOD_PRESSURE = coding(LOINC, "85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = coding(LOINC, "8480-6", "Systolic blood pressure")
DIASTOLIC = coding(LOINC, "8462-4", "Diastolic blood pressure")
BP_PROFILE: Final = "http://hl7.org/fhir/StructureDefinition/bp"  # the R4 core vital signs profile

KETAMINE = coding(RXNORM, "6130", "ketamine")
SUBLINGUAL = coding(SNOMED, "37839007", "Sublingual route")
VIRTUAL = coding(ACT_CODE, "VR", "virtual")
SURVEY = coding(OBSERVATION_CATEGORY, "survey", "Survey")
VITAL_SIGNS = coding(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")
SAFETY = coding(FLAG_CATEGORY, "safety", "Safety")
