"""The mappings, event by event and folded into a journey: codes, statuses, references, no personal data."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hearth.contracts import CATALOG, ApprovalRevoked, Approved, Event, ReasonCode, Screened, build_event
from hearth.contracts.events import gad7_band, phq9_band
from hearth.contracts.events.screening import BloodPressure
from hearth.fhir import MAPPINGS, bundle, codes, journey, merge, ndjson_by_type, resources_of, updated_since
from hearth.fhir.examples import JOURNEYS, START, all_events, foundation, revoked, safety_flag_declined

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def _of(resources: list[dict[str, Any]], kind: str, **where: Any) -> list[dict[str, Any]]:
    return [r for r in resources if r["resourceType"] == kind and all(r.get(k) == v for k, v in where.items())]


def _code(resource: dict[str, Any]) -> str:
    return str(resource["code"]["coding"][0]["code"])


def _screened(
    phq9: int, gad7: int, *, item9: bool = False, n: str = "1", hours: int = 0, bp: BloodPressure | None = None
) -> Event[Screened]:
    outcome: dict[str, Any] = {"outcome": "eligible", "reasons": ()}
    if item9:
        outcome = {"outcome": "needs_review", "reasons": (ReasonCode.SAFETY_FLAG_ITEM9,)}
    data = Screened(
        assessment_id=f"asm-{n}",
        patient_state="CO",
        phq9_total=phq9,
        phq9_band=phq9_band(phq9),
        gad7_total=gad7,
        gad7_band=gad7_band(gad7),
        safety_flag=item9,
        blood_pressure=bp,
        **outcome,
    )
    return build_event(data, subject="pt-unit-1", time=START + timedelta(hours=hours))


def test_screening_maps_to_loinc_questionnaires_and_totals():
    found = resources_of(_screened(18, 11))
    phq9, gad7 = _of(found, "QuestionnaireResponse")
    assert (phq9["questionnaire"], gad7["questionnaire"]) == (
        "http://loinc.org/q/44249-1",
        "http://loinc.org/q/69737-5",
    )
    assert phq9["item"][0]["linkId"] == "/44261-6" and phq9["item"][0]["answer"] == [{"valueInteger": 18}]
    assert gad7["item"][0]["answer"] == [{"valueInteger": 11}]
    totals = {_code(o): o for o in _of(found, "Observation") if o["code"]["coding"][0]["system"] == codes.LOINC}
    assert totals["44261-6"]["valueInteger"] == 18 and totals["70274-6"]["valueInteger"] == 11
    assert totals["44261-6"]["component"][0]["valueCodeableConcept"]["text"] == "moderately severe"
    assert totals["44261-6"]["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{phq9['id']}"}]
    outcome = next(o for o in _of(found, "Observation") if _code(o) == "screening-outcome")
    assert outcome["valueCodeableConcept"]["coding"][0]["code"] == "eligible" and "component" not in outcome
    assert _of(found, "Flag") == [], "no safety flag without an item-9 answer above 0"
    assert not [o for o in found if o.get("code", {}).get("text") == "Blood pressure"], "none was measured"


def test_the_intake_blood_pressure_is_a_vital_signs_panel():
    event = _screened(18, 11, bp=BloodPressure(systolic_mmhg=138, diastolic_mmhg=88))
    (bp,) = [o for o in _of(resources_of(event), "Observation") if _code(o) == "85354-9"]
    assert bp["meta"]["profile"] == ["http://hl7.org/fhir/StructureDefinition/bp"]
    assert bp["category"][0]["coding"][0]["code"] == "vital-signs"
    values = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in bp["component"]}
    assert values == {
        "8480-6": {"value": 138, "unit": "mmHg", "system": codes.UCUM, "code": "mm[Hg]"},
        "8462-4": {"value": 88, "unit": "mmHg", "system": codes.UCUM, "code": "mm[Hg]"},
    }


def test_item9_raises_a_safety_flag_and_the_overdue_review_a_task_that_escalates():
    found = journey(safety_flag_declined())
    (flag,) = _of(found, "Flag")
    assert flag["status"] == "active" and flag["category"][0]["coding"][0]["code"] == "safety"
    assert _code(flag) == "44260-8"
    (review,) = _of(found, "Task")
    assert review["priority"] == "stat" and review["businessStatus"]["text"] == "overdue, escalation level 3"
    assert review["focus"] == {"reference": f"Flag/{flag['id']}"}
    (item9,) = [o for o in _of(found, "Observation") if _code(o) == "44260-8"]
    assert item9["valueInteger"] == 2


def test_approval_is_a_sublingual_ketamine_request_with_the_plan_as_dispense_request():
    event = build_event(Approved.example(), subject="pt-unit-1")
    (request,) = resources_of(event)
    assert request["status"] == "active" and request["intent"] == "order"
    assert request["medicationCodeableConcept"]["coding"] == [codes.KETAMINE]
    dosage = request["dosageInstruction"][0]
    assert dosage["route"]["coding"][0]["code"] == "37839007"
    assert dosage["doseAndRate"][0]["doseQuantity"] == {"value": 200, "unit": "mg", "system": codes.UCUM, "code": "mg"}
    assert request["dispenseRequest"]["quantity"]["value"] == 8
    assert request["courseOfTherapyType"]["text"] == "foundation plan"
    assert request["requester"]["identifier"] == {"system": codes.PRESCRIBER_ID, "value": "clin-0042"}


def test_revocation_cancels_an_unused_prescription_and_stops_a_used_one():
    (unused,) = _of(journey(revoked()), "MedicationRequest")
    assert unused["status"] == "cancelled" and unused["statusReason"]["coding"][0]["code"] == "patient_request"
    assert unused["dispenseRequest"]["quantity"]["value"] == 8, "the approval's details survive the revocation"
    events = foundation()
    revocation = ApprovalRevoked(approval_id="apr-fd-1", prescriber_id="clin-0042", reason=ReasonCode.ADVERSE_EVENT)
    events.append(build_event(revocation, subject="pt-ex-foundation", time=START + timedelta(days=90)))
    (used,) = _of(journey(events), "MedicationRequest")
    assert used["status"] == "stopped", "doses were taken under it: stopped, not cancelled"


def test_a_box_is_one_dispense_that_keeps_its_tracking_number():
    found = journey(foundation())
    (box,) = _of(found, "MedicationDispense")
    assert box["status"] == "completed" and box["whenHandedOver"] and box["whenPrepared"]
    assert {"system": codes.tracking_system("ups"), "value": "1Z999AA10123456784"} in box["identifier"]
    (request,) = _of(found, "MedicationRequest")
    assert box["authorizingPrescription"] == [{"reference": f"MedicationRequest/{request['id']}"}]
    lost = _of(journey(JOURNEYS["extended"]()), "MedicationDispense", status="stopped")
    assert [b["statusReasonCodeableConcept"]["coding"][0]["code"] for b in lost] == ["lost"]


def test_a_session_is_a_virtual_encounter_with_its_dose_check_ins_and_adverse_events():
    found = journey(foundation())
    first, _second = _of(found, "Encounter")
    assert first["status"] == "finished" and first["class"]["code"] == "VR"
    assert set(first["period"]) == {"start", "end"} and first["period"]["start"] < first["period"]["end"]
    doses = _of(found, "MedicationAdministration")
    assert [d["dosage"]["dose"]["value"] for d in doses] == [200, 250]
    assert doses[0]["context"] == {"reference": f"Encounter/{first['id']}"}
    missed = [o for o in _of(found, "Observation") if _code(o) == "check-in"]
    assert [[c["valueInteger"] for c in o["component"]] for o in missed] == [[1, 1], [2, 2]]
    (event,) = _of(found, "AdverseEvent")
    assert event["severity"]["coding"][0]["code"] == "moderate"
    assert event["seriousness"]["coding"][0]["code"] == "Non-serious"
    (grave,) = _of(journey(JOURNEYS["extended"]()), "AdverseEvent")
    assert (grave["severity"]["coding"][0]["code"], grave["seriousness"]["coding"][0]["code"]) == (
        "severe",
        "SeriousIsLifeThreatening",
    )


def test_integration_task_goes_due_overdue_done():
    tasks = journey(foundation())
    (integration,) = [t for t in _of(tasks, "Task") if t["code"]["coding"][0]["code"] == "integration-session"]
    assert integration["status"] == "completed" and integration["businessStatus"]["text"] == "done"
    assert integration["restriction"]["period"]["start"] < integration["restriction"]["period"]["end"]
    (booked,) = [t for t in _of(journey(JOURNEYS["extended"]()), "Task") if t["status"] == "accepted"]
    assert booked["businessStatus"]["text"] == "booked"


def _outcome(baseline: int, later: int) -> dict[str, Any]:
    found = journey([_screened(baseline, 10, n="1"), _screened(later, 5, n="2", hours=24 * 28)])
    (outcome,) = [o for o in _of(found, "Observation") if _code(o) == "treatment-outcome"]
    return {c["code"]["coding"][0]["code"]: c.get("valueBoolean", c.get("valueQuantity")) for c in outcome["component"]}


@pytest.mark.parametrize(
    ("baseline", "later", "response", "remission"),
    [
        (18, 9, True, False),
        (18, 10, False, False),
        (8, 4, True, True),
        (12, 7, False, False),
        (10, 5, True, False),
        (9, 4, True, True),
    ],
)
def test_response_and_remission_at_their_boundaries(baseline, later, response, remission):
    found = _outcome(baseline, later)
    assert (found["phq9-response"], found["phq9-remission"]) == (response, remission)
    assert found["gad7-change"]["value"] == -50.0


@given(st.integers(1, 27), st.integers(0, 27))
def test_response_is_a_halved_phq9(baseline, later):
    found = _outcome(baseline, later)
    assert found["phq9-response"] is (2 * later <= baseline)
    assert found["phq9-remission"] is (later < 5)


def test_a_zero_baseline_has_no_relative_change():
    found = _outcome(0, 3)
    assert "phq9-change" not in found and "phq9-response" not in found and found["phq9-remission"] is True


def test_the_fold_ignores_delivery_order_and_duplicates():
    events = all_events()
    shuffled = events + random.Random(7).sample(events, len(events) // 3)  # re-sent copies
    random.Random(11).shuffle(shuffled)
    assert journey(shuffled) == journey(events)


def test_merge_keeps_distinct_list_items_and_takes_later_values():
    merged = merge({"a": [1, 2], "b": {"c": 1, "d": 2}, "s": "x"}, {"a": [2, 3], "b": {"c": 5}, "s": "y"})
    assert merged == {"a": [1, 2, 3], "b": {"c": 5, "d": 2}, "s": "y"}


def test_every_mapped_event_type_is_in_the_catalog_and_the_examples():
    assert set(MAPPINGS) <= set(CATALOG)
    assert set(MAPPINGS) <= {event.type for event in all_events()}
    assert {"org.hearth.screening.declined.v1", "org.hearth.fulfillment.order-cancelled.v1"} <= set(CATALOG) - set(
        MAPPINGS
    ), "decided: a decline and a cancelled order add no resource (journey.MAPPINGS)"


def _walk(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [(f"{path}.{k}", v) for k, v in value.items()] + [p for k, v in value.items() for p in _walk(v, k)]
    if isinstance(value, list):
        return [p for item in value for p in _walk(item, path)]
    return []


def test_patients_are_pseudonymous_references_and_references_resolve():
    resources = journey(all_events())
    ids = {f"{r['resourceType']}/{r['id']}" for r in resources}
    patients = set()
    for resource in resources:
        assert FHIR_ID.match(resource["id"])
        for key, value in _walk(resource):
            name = key.rsplit(".", 1)[-1]
            assert name not in {"name", "birthDate", "address", "telecom", "gender", "photo"}, key
            if name == "reference":
                assert value in ids, f"{resource['resourceType']} refers to {value}, which is not in the journey"
            if isinstance(value, dict) and value.get("type") == "Patient":
                assert set(value) == {"type", "identifier"} and value["identifier"]["system"] == codes.PATIENT_ID
                patients.add(value["identifier"]["value"])
    assert patients == {events[0].subject for events in (make() for make in JOURNEYS.values())}


def test_bundle_is_a_collection_whose_entries_resolve_relative_references():
    resources = journey(foundation())
    found = bundle("pt-ex-foundation", resources, timestamp=datetime(2027, 1, 1, tzinfo=UTC))
    assert found["type"] == "collection" and found["timestamp"] == "2027-01-01T00:00:00Z"
    urls = [entry["fullUrl"] for entry in found["entry"]]
    assert len(set(urls)) == len(resources)
    assert all(
        url == f"{codes.BASE}{e['resource']['resourceType']}/{e['resource']['id']}"
        for url, e in zip(urls, found["entry"], strict=True)
    )


def test_bulk_export_groups_by_type_and_filters_by_last_update():
    resources = journey(all_events())
    files = ndjson_by_type(resources)
    assert list(files) == sorted(files) and sum(text.count("\n") for text in files.values()) == len(resources)
    assert all(line.startswith('{"resourceType":"Observation"') for line in files["Observation"].splitlines())
    since = START + timedelta(days=29)
    recent = updated_since(resources, since)
    assert recent and len(recent) < len(resources)
    assert all(datetime.fromisoformat(r["meta"]["lastUpdated"]) >= since for r in recent)
    assert updated_since(resources, None) == resources
