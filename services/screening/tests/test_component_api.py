"""The service over real Kafka and Postgres: intakes emit `screened`, decisions emit `approved` / `declined` /
`approval-revoked`, an Idempotency-Key makes a repeat harmless, refusals name the field, and every event fits
its contract."""

from __future__ import annotations

import asyncio

from hearth.contracts import ApprovalRevoked, Approved, Declined, Screened
from hearth.kit import audit
from hearth.kit.auth import Role
from hearth.screening.examples import answers, intake_body

CLINICIAN = "clin-0042"


def approve_body(**changes):
    body = {
        "decision": "approve",
        "plan": "extended",
        "starting_dose_mg": 200,
        "prescriber_id": CLINICIAN,
        "prescriber_license_state": "CO",
        # On record whatever the day: from 2027 the prescribing rules ask for it (test_component_rules.py).
        "in_person_evaluation_on": "2026-11-20",
    }
    return body | changes


async def test_an_intake_emits_one_screened_event_and_a_repeat_with_its_key_emits_none(svc, emitted):
    headers = {**svc.auth(Role.SYSTEM, "patient-app"), "Idempotency-Key": "intake-1"}
    first = await svc.client.post("/intakes", json=intake_body(patient_id="pt-eligible-1"), headers=headers)
    assert first.status_code == 201, first.text
    repeat = await svc.client.post("/intakes", json=intake_body(patient_id="pt-eligible-1"), headers=headers)
    assert (repeat.status_code, repeat.json()) == (201, first.json())
    as_patient = svc.auth(Role.PATIENT, "pt-flagged-2")
    flagged_body = intake_body(patient_id="pt-flagged-2", phq9=list(answers(16, 9, item9=1)), age=17)
    flagged = await svc.client.post("/intakes", json=flagged_body, headers=as_patient)
    assert flagged.status_code == 201, flagged.text

    events = await emitted(svc, Screened, count=2)

    assert sorted(e.subject for e in events) == ["pt-eligible-1", "pt-flagged-2"]
    by_subject = {e.subject: e.data for e in events}
    eligible, review = by_subject["pt-eligible-1"], by_subject["pt-flagged-2"]
    assert (eligible.outcome, eligible.reasons, eligible.assessment_id) == (
        "eligible",
        (),
        first.json()["assessment_id"],
    )
    assert (eligible.phq9_total, eligible.phq9_band, eligible.gad7_total, eligible.gad7_band) == (
        16, "moderately_severe", 11, "moderate",
    )  # fmt: skip
    assert (review.outcome, review.safety_flag) == ("needs_review", True)
    assert list(review.reasons) == ["under_18", "safety_flag_item9"] == flagged.json()["reasons"]
    conn = await svc.db()
    try:
        assert await conn.fetchval("SELECT count(*) FROM assessments") == 2
        stored = await conn.fetchrow("SELECT outcome, reasons FROM assessments WHERE patient_id = 'pt-flagged-2'")
        assert (stored["outcome"], stored["reasons"]) == ("needs_review", ["under_18", "safety_flag_item9"])
    finally:
        await conn.close()


async def test_a_decision_emits_approved_is_audited_and_can_be_revoked_once(svc, emitted):
    body = intake_body(patient_id="pt-approve-1", blood_pressure=None)  # needs_review: missing_vitals
    intake = await svc.client.post("/intakes", json=body, headers=svc.auth(Role.SYSTEM, "patient-app"))
    assessment_id = intake.json()["assessment_id"]
    clinician = svc.auth(Role.CLINICIAN, CLINICIAN)
    justification = "BP taken at pharmacy 124/80 by phone; confirmed with patient"
    decide = f"/assessments/{assessment_id}/decision"
    # Two approvals race (two clinicians' screens): the assessment's row lock lets exactly one through.
    racing = await asyncio.gather(
        *[svc.client.post(decide, json=approve_body(justification=justification), headers=clinician)
          for _ in range(2)]
    )  # fmt: skip
    assert sorted(r.status_code for r in racing) == [201, 409], [r.text for r in racing]
    approved = next(r for r in racing if r.status_code == 201)
    approval_id = approved.json()["approval_id"]
    decline = {"decision": "decline", "reason": "clinical_judgement", "prescriber_id": CLINICIAN}
    again = await svc.client.post(decide, json=decline, headers=clinician)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_decided"
    assert again.json()["error"]["details"]["current_decision"]["approval_id"] == approval_id

    [event] = await emitted(svc, Approved, count=1)
    assert event.subject == "pt-approve-1"
    assert (event.data.approval_id, event.data.assessment_id) == (approval_id, assessment_id)
    assert (event.data.plan, event.data.dose_count, event.data.starting_dose_mg) == ("extended", 24, 200)
    assert (event.data.prescriber_id, event.data.patient_state) == (CLINICIAN, "CO")
    assert "pharmacy" not in event.to_json().decode()

    view = await svc.client.get(f"/assessments/{assessment_id}", headers=clinician)
    assert view.status_code == 200, view.text
    assert view.json()["decision"]["justification"] == justification
    assert view.json()["answers"]["blood_pressure"] is None

    revoke = f"/approvals/{approval_id}/revoke"
    revoke_body = {"reason": "adverse_event", "prescriber_id": CLINICIAN, "note": "reported syncope"}
    revoked = await svc.client.post(revoke, json=revoke_body, headers=clinician)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["active"] is False
    twice = await svc.client.post(revoke, json=revoke_body, headers=clinician)
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "already_revoked")
    [withdrawn] = await emitted(svc, ApprovalRevoked, count=1)
    assert (withdrawn.data.approval_id, withdrawn.data.reason, withdrawn.subject) == (
        approval_id, "adverse_event", "pt-approve-1",
    )  # fmt: skip

    trail = await svc.client.get(f"/assessments/{assessment_id}/audit", headers=svc.auth(Role.OPS, "ops-1"))
    assert trail.status_code == 200, trail.text
    entries = trail.json()["entries"]
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("screened", "patient-app"), ("approved", CLINICIAN), ("approval_revoked", CLINICIAN),
    ]  # fmt: skip
    # The audit trail keeps the justification sealed with the patient's key: erasing them leaves the chain intact.
    assert entries[1]["details"]["justification"].startswith("sealed:v1:")
    assert justification not in trail.text
    conn = await svc.db()
    try:
        checked, broken = await audit.verify(conn)
        assert (checked, broken) == (3, None)
    finally:
        await conn.close()


async def test_refusals_name_the_field_and_emit_nothing(svc, emitted):
    system, clinician = svc.auth(Role.SYSTEM, "patient-app"), svc.auth(Role.CLINICIAN, CLINICIAN)

    async def submit(**changes):
        r = await svc.client.post("/intakes", json=intake_body(**changes), headers=system)
        assert r.status_code == 201, r.text
        return r.json()["assessment_id"]

    async def decide(assessment_id, body, headers=clinician):
        return await svc.client.post(f"/assessments/{assessment_id}/decision", json=body, headers=headers)

    ineligible = await submit(patient_id="pt-refused-1", state="TX", mania=None)
    review = await submit(patient_id="pt-refused-2", phq9=list(answers(20, 9, item9=2)))

    refused = await decide(ineligible, approve_body(prescriber_license_state="TX"))
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "not_eligible")
    missing = await decide(review, approve_body())
    assert (missing.status_code, missing.json()["error"]["code"]) == (422, "justification_required")
    assert [f["field"] for f in missing.json()["error"]["fields"]] == ["body.justification"]
    elsewhere = await decide(review, approve_body(prescriber_license_state="CA", justification="ok"))
    assert [f["field"] for f in elsewhere.json()["error"]["fields"]] == ["body.prescriber_license_state"]
    impostor = await decide(review, approve_body(prescriber_id="clin-other", justification="ok"))
    assert (impostor.status_code, impostor.json()["error"]["fields"][0]["field"]) == (403, "body.prescriber_id")
    too_high = await decide(review, approve_body(starting_dose_mg=600, justification="ok"))
    assert too_high.status_code == 422
    assert [f["field"] for f in too_high.json()["error"]["fields"]] == ["body.approve.starting_dose_mg"]
    unknown = await decide("no-such-assessment", approve_body())
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "assessment_not_found")
    as_patient = await decide(review, approve_body(), headers=svc.auth(Role.PATIENT, "pt-refused-2"))
    assert as_patient.status_code == 403

    short = await svc.client.post("/intakes", json=intake_body(phq9=[0] * 8), headers=system)
    assert [f["field"] for f in short.json()["error"]["fields"]] == ["body.phq9"]
    named = await svc.client.post("/intakes", json=intake_body(name="Jane Doe"), headers=system)
    assert [f["field"] for f in named.json()["error"]["fields"]] == ["body.name"]
    other = await svc.client.post("/intakes", json=intake_body(patient_id="pt-someone"),
                                  headers=svc.auth(Role.PATIENT, "pt-me"))  # fmt: skip
    assert (other.status_code, other.json()["error"]["fields"][0]["field"]) == (403, "body.patient_id")
    by_clinician = await svc.client.post("/intakes", json=intake_body(), headers=clinician)
    assert by_clinician.status_code == 403

    declined = await decide(ineligible, {"decision": "decline", "reason": "state_not_served",
                                         "prescriber_id": CLINICIAN, "note": "outside service area"})  # fmt: skip
    assert declined.status_code == 201, declined.text
    [event] = await emitted(svc, Declined, count=1)
    assert (event.data.assessment_id, event.data.reason, event.subject) == (ineligible, "state_not_served",
                                                                           "pt-refused-1")  # fmt: skip
    assert await emitted(svc, Approved, count=1, timeout=2.0) == []
    screened = await emitted(svc, Screened, count=2)
    assert sorted(e.data.outcome for e in screened) == ["ineligible", "needs_review"]
