"""Starting sessions on the service in this process, over real Kafka and Postgres (see conftest.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from hearth.contracts import ApprovalRevoked, BoxShipped, ReasonCode, SessionStarted, build_event
from hearth.kit.auth import Role

if TYPE_CHECKING:
    from conftest import Journey


async def test_start_emits_session_started_once_and_refuses_a_second(journey: Journey) -> None:
    svc, patient = journey.svc, await journey.ready_patient()
    headers = {**svc.auth(Role.PATIENT, patient), "Idempotency-Key": "start-1"}
    first = await svc.client.post("/sessions", json=journey.start_body(patient), headers=headers)
    again = await svc.client.post("/sessions", json=journey.start_body(patient), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    session = first.json()

    [started] = await svc.wait_for_events(SessionStarted, count=1)
    assert started.subject == patient
    assert started.data.session_id == session["session_id"]
    assert (started.data.session_number, started.data.dose_mg, started.data.dose_finding) == (1, 200, True)
    assert started.data.check_ins_due == tuple(journey.at(session, s) for s in (0, 10, 20))

    second = await svc.client.post("/sessions", json=journey.start_body(patient), headers=journey.clinician())
    assert second.status_code == 409
    assert second.json()["error"]["details"]["failed"] == ["too_soon", "session_in_progress"]
    view = await journey.patient_view(patient)
    assert view is not None
    assert (view["doses_on_hand"], view["sessions_held"]) == (7, 1)
    assert view["session_in_progress"] == session["session_id"]
    assert (view["next_session_number"], view["next_session_dose_finding"]) == (2, True)


async def test_a_refusal_names_every_failed_condition(journey: Journey) -> None:
    svc, patient = journey.svc, journey.new_patient()
    body = journey.start_body(patient, support_person_present=False)
    taken_at = journey.clock.now() - timedelta(minutes=31)
    body["blood_pressure"] = {"systolic": 141, "diastolic": 91, "taken_at": taken_at.isoformat()}
    r = await svc.client.post("/sessions", json=body, headers=journey.clinician())
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "gate_refused"
    assert r.json()["error"]["details"]["failed"] == [
        "no_active_approval",
        "no_doses_on_hand",
        "blood_pressure_high",
        "blood_pressure_stale",
        "no_support_person",
    ]
    assert await journey.patient_view(patient) is None  # a refused start leaves nothing behind

    body = journey.start_body(patient)
    other = await svc.client.post("/sessions", json=body, headers=svc.auth(Role.PATIENT, "pt-someone-else"))
    dosed = await svc.client.post("/sessions", json={**body, "dose_mg": 300}, headers=svc.auth(Role.PATIENT, patient))
    ops = await svc.client.post("/sessions", json=body, headers=svc.auth(Role.OPS))
    assert (other.status_code, dosed.status_code, ops.status_code) == (403, 403, 403)
    r = await svc.client.post("/sessions", json={**body, "dose_mg": 601}, headers=journey.clinician())
    assert r.status_code == 422
    assert [f["field"] for f in r.json()["error"]["fields"]] == ["body.dose_mg"]


async def test_events_out_of_order_across_topics(journey: Journey) -> None:
    svc, delivered_first, revoked_first = journey.svc, journey.new_patient(), journey.new_patient()
    revoke = ApprovalRevoked(approval_id="apr-1", prescriber_id="clin-1", reason=ReasonCode.CLINICAL_JUDGEMENT)
    await svc.publish(journey.delivered(delivered_first), build_event(revoke, subject=revoked_first))
    await journey.until_patient(delivered_first, "box recorded", lambda v: v["active_approval"] is None)
    await journey.until_patient(revoked_first, "revocation recorded", lambda v: v["approvals"][0]["revoked"])

    shipped = BoxShipped(
        order_id="ord-apr-1",
        approval_id="apr-1",
        box_number=1,
        doses_in_box=8,
        carrier="ups",
        tracking_number="1Z999AA1",
        signature_required=True,
        ship_to_state="CO",
    )
    await svc.publish(
        journey.approved(delivered_first),
        build_event(shipped, subject=delivered_first),
        journey.approved(revoked_first),
        journey.delivered(revoked_first),
    )
    await journey.until_patient(delivered_first, "approval applied", lambda v: v["doses_on_hand"] == 8)
    view = await journey.until_patient(revoked_first, "approval applied", lambda v: v["approvals"][0]["approved"])
    assert view["active_approval"] is None and view["approvals"][0]["revoked"]

    await journey.start(delivered_first)
    r = await svc.client.post(
        "/sessions", json=journey.start_body(revoked_first), headers=svc.auth(Role.PATIENT, revoked_first)
    )
    assert r.status_code == 409
    assert r.json()["error"]["details"]["failed"] == ["no_active_approval", "no_doses_on_hand"]


async def test_a_clinician_sets_the_dose_of_the_sessions_to_come(journey: Journey) -> None:
    svc, patient = journey.svc, await journey.ready_patient()
    doses = []
    for number, dose in ((1, None), (2, 300), (3, 350)):
        if number == 2:
            r = await svc.client.post(
                f"/patients/{patient}/next-dose", json={"dose_mg": dose}, headers=journey.clinician()
            )
            assert r.status_code == 200, r.text
            assert r.json()["active_approval"]["current_dose_mg"] == 300
        body = journey.start_body(patient, **({"dose_mg": dose} if number == 3 else {}))
        r = await svc.client.post("/sessions", json=body, headers=journey.clinician())
        assert r.status_code == 201, r.text
        session = r.json()
        doses.append((session["session_number"], session["dose_mg"], session["dose_finding"]))
        closed = await svc.client.post(f"/sessions/{session['session_id']}/close", headers=journey.clinician())
        assert closed.status_code == 200
        journey.clock.set(journey.at(session, 48 * 3600))  # exactly the least interval later

    assert doses == [(1, 200, True), (2, 300, True), (3, 350, False)]
    started = await svc.wait_for_events(SessionStarted, count=3)
    assert sorted((e.data.session_number, e.data.dose_mg, e.data.dose_finding) for e in started) == doses
