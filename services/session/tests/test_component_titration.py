"""Titration over HTTP and real Postgres: an increase above the maximum step per change needs the prescriber's
justification (the next-dose command and a dose given at a start alike), a patient never sets a dose, and the
dose history lists starting doses, changes and the doses sessions were held at."""

from __future__ import annotations

from hearth.kit import audit
from hearth.kit.auth import Role
from hearth.rules import DEFAULT_FILE, load

VERSION = load(DEFAULT_FILE).version


async def test_a_step_above_the_maximum_needs_a_justification_and_the_history_shows_every_dose(journey):
    svc = journey.svc
    patient = await journey.ready_patient()  # approved at 200 mg
    next_dose = f"/patients/{patient}/next-dose"

    jump = await svc.client.post(next_dose, json={"dose_mg": 600}, headers=journey.clinician())
    assert jump.status_code == 422, jump.text
    assert (jump.json()["error"]["code"], jump.json()["error"]["fields"][0]["field"]) == (
        "justification_required", "body.justification",
    )  # fmt: skip
    as_patient = await svc.client.post(
        next_dose, json={"dose_mg": 300, "justification": "I feel fine"}, headers=svc.auth(Role.PATIENT, patient)
    )
    assert as_patient.status_code == 403

    step = await svc.client.post(next_dose, json={"dose_mg": 300}, headers=journey.clinician())
    assert step.status_code == 200, step.text
    assert step.json()["active_approval"]["current_dose_mg"] == 300

    start = journey.start_body(patient, dose_mg=500)
    refused = await svc.client.post("/sessions", json=start, headers=journey.clinician())
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["fields"][0]["field"] == "body.dose_justification"
    justified = {**start, "dose_justification": "Partial response at 300 mg; tolerated well"}
    started = await svc.client.post("/sessions", json=justified, headers=journey.clinician())
    assert started.status_code == 201, started.text
    assert started.json()["dose_mg"] == 500

    history = await svc.client.get(f"/patients/{patient}/doses", headers=journey.clinician())
    assert history.status_code == 200, history.text
    h = history.json()
    assert [a["starting_dose_mg"] for a in h["approvals"]] == [200]
    assert [(c["from_mg"], c["to_mg"], c["above_step"], c["rules_version"]) for c in h["changes"]] == [
        (200, 300, False, VERSION), (300, 500, True, VERSION),
    ]  # fmt: skip
    assert h["changes"][1]["justification"] == "Partial response at 300 mg; tolerated well"
    assert [s["dose_mg"] for s in h["sessions"]] == [500]
    for_ops = (await svc.client.get(f"/patients/{patient}/doses", headers=svc.auth(Role.OPS))).json()
    assert [c["justification"] for c in for_ops["changes"]] == [None, None]

    conn = await svc.db()
    try:
        audited = [e for e in await audit.entries(conn, patient) if e["action"] == "dose.set"]
        assert [(e["details"]["dose_mg"], e["details"]["above_step"]) for e in audited] == [(300, False), (500, True)]
        assert {e["actor"] for e in audited} == {"clin-0042"}
        assert await conn.fetchval("SELECT count(*) FROM session_dose_changes WHERE patient_id = $1", patient) == 2
    finally:
        await conn.close()


async def test_a_refused_start_records_no_dose_change(journey):
    svc = journey.svc
    patient = await journey.ready_patient()
    high_bp = journey.start_body(patient, dose_mg=300)
    high_bp["blood_pressure"]["systolic"] = 150
    r = await svc.client.post("/sessions", json=high_bp, headers=journey.clinician())
    assert (r.status_code, r.json()["error"]["code"]) == (409, "gate_refused")
    h = (await svc.client.get(f"/patients/{patient}/doses", headers=journey.clinician())).json()
    assert (h["changes"], h["sessions"]) == ([], [])
