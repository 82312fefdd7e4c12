"""Every resource of the example journeys, and each patient's Bundle, validated by the HAPI FHIR validator (the
reference implementation's instance validator, R4 core definitions) in one JVM.

Errors fail. Warnings fail too, except the documented offline ones (README: "Validation"): no terminology server
is used, so LOINC, RxNorm and the project's own code systems cannot be looked up, nor LOINC's questionnaires; and
observations that the workflow computes have no performer.
"""

from __future__ import annotations

import re
import sys
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from hearth.fhir import bundle, codes, journey
from hearth.fhir.examples import JOURNEYS

ACCEPTED_WARNINGS = (
    re.compile(
        r"^CodeSystem is unknown and can't be validated: (http://loinc\.org|http://www\.nlm\.nih\.gov/research/umls/"
        rf"rxnorm|{re.escape(codes.BASE)}CodeSystem/[a-z0-9-]+) for '"
    ),
    re.compile(r"^The questionnaire 'http://loinc\.org/q/(44249-1|69737-5)' could not be resolved"),
    re.compile(r"^Best Practice Recommendation: In general, all observations should have a performer$"),
)
RESOURCE_TYPES = {
    "QuestionnaireResponse",
    "Observation",
    "Flag",
    "Task",
    "MedicationRequest",
    "MedicationDispense",
    "MedicationAdministration",
    "Encounter",
    "AdverseEvent",
}
# Resources R4 refuses, in the same batch: they prove the validator run can fail.
CANARIES: list[dict[str, Any]] = [
    {  # R4 has no `revoked` MedicationRequest status (ServiceRequest and CarePlan do)
        "resourceType": "MedicationRequest",
        "id": "canary-revoked",
        "status": "revoked",
        "intent": "order",
        "medicationCodeableConcept": {"text": "ketamine"},
        "subject": {"identifier": {"system": codes.PATIENT_ID, "value": "pt-canary"}},
    },
    {"resourceType": "Observation", "id": "canary-empty", "code": {"text": "no status"}, "component": []},
    {  # the blood pressure profile wants both components, in mm[Hg]
        "resourceType": "Observation",
        "id": "canary-bp",
        "meta": {"profile": [codes.BP_PROFILE]},
        "status": "final",
        "category": [{"coding": [codes.VITAL_SIGNS]}],
        "code": {"coding": [codes.BLOOD_PRESSURE]},
        "subject": {"identifier": {"system": codes.PATIENT_ID, "value": "pt-canary"}},
        "effectiveDateTime": "2026-11-02T09:00:00Z",
        "component": [{"code": {"coding": [codes.SYSTOLIC]}, "valueQuantity": {"value": 120, "unit": "mmHg"}}],
    },
    {  # AdverseEventSeverity is mild | moderate | severe
        "resourceType": "AdverseEvent",
        "id": "canary-severity",
        "actuality": "actual",
        "subject": {"identifier": {"system": codes.PATIENT_ID, "value": "pt-canary"}},
        "severity": {"coding": [{"system": codes.AE_SEVERITY, "code": "life-threatening"}]},
    },
]


@pytest.fixture(scope="module")
def validated(hapi):
    """(what, resource, issues) for every resource, bundle and canary, from one validator run."""
    batch: list[tuple[str, dict[str, Any]]] = []
    at = datetime(2027, 1, 1, tzinfo=UTC)
    for kind, make in JOURNEYS.items():
        events = make()
        resources = journey(events)
        batch += [(kind, r) for r in resources]
        batch.append((f"{kind} bundle", bundle(events[0].subject, resources, timestamp=at)))
    batch += [("canary", r) for r in CANARIES]
    started = time.monotonic()
    outcomes = hapi([r for _, r in batch])
    print(f"HAPI validated {len(batch)} resources in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return [(what, r, o.get("issue", [])) for (what, r), o in zip(batch, outcomes, strict=True)]


def _name(what: str, resource: dict[str, Any]) -> str:
    return f"{what}: {resource['resourceType']}/{resource['id']}"


def test_every_generated_resource_and_bundle_has_no_error(validated):
    errors = [
        f"{_name(what, r)} {i.get('expression')} {i['diagnostics']}"
        for what, r, issues in validated
        if what != "canary"
        for i in issues
        if i["severity"] in ("error", "fatal")
    ]
    assert not errors, "\n".join(errors)
    assert {r["resourceType"] for what, r, _ in validated if what != "canary"} == RESOURCE_TYPES | {"Bundle"}
    assert sum(1 for what, r, _ in validated if r["resourceType"] == "Bundle") == len(JOURNEYS)


def test_warnings_are_only_the_documented_offline_ones(validated):
    unexpected = [
        f"{_name(what, r)} {i.get('expression')} {i['diagnostics']}"
        for what, r, issues in validated
        if what != "canary"
        for i in issues
        if i["severity"] == "warning" and not any(p.search(i["diagnostics"]) for p in ACCEPTED_WARNINGS)
    ]
    assert not unexpected, "\n".join(unexpected)


def test_the_validator_refuses_what_r4_forbids(validated):
    canaries = {r["id"]: issues for what, r, issues in validated if what == "canary"}
    for canary, issues in canaries.items():
        assert any(i["severity"] == "error" for i in issues), f"{canary} passed validation: {issues}"
    revoked = " ".join(i["diagnostics"] for i in canaries["canary-revoked"])
    assert "revoked" in revoked
    profile = " ".join(i["diagnostics"] for i in canaries["canary-bp"] if i["severity"] == "error")
    assert "DiastolicBP" in profile, f"the blood pressure profile was not applied: {profile}"
