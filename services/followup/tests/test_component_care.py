"""Care-team items, mood tracking, the dose review and the outcome figures over real Kafka and Postgres."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hearth.contracts import (
    AdverseEventKind,
    AdverseEventReported,
    CheckInMissed,
    DoseReviewDue,
    Screened,
    SessionStarted,
    build_event,
)
from hearth.contracts.events.screening import gad7_band, phq9_band
from hearth.followup.main import define
from hearth.followup.settings import FollowupSettings
from hearth.kit.auth import Role
from hearth.kit.testing.service_harness import ServiceUnderTest, running_service

Svc = tuple[ServiceUnderTest, Any]
PHQ9_OF_9 = [1, 1, 1, 1, 1, 1, 1, 2, 0]  # total 9, item 9 = 0
GAD7_OF_5 = [1, 1, 1, 1, 1, 0, 0]


@pytest.fixture(scope="module")
async def svc(infra: Any, probe_for: Callable[..., Any]) -> AsyncIterator[Svc]:
    prefix = f"followup-{secrets.token_hex(4)}."
    async with running_service(
        define, FollowupSettings, infra, prefix, overrides={"dose_review_after_seconds": 2.0}
    ) as s:
        yield s, probe_for(s.bootstrap, s.prefix, s.dsn)


def patient_id() -> str:
    return f"pt-{secrets.token_hex(4)}"


def screened(phq9: int = 18, gad7: int = 11) -> Screened:
    return Screened(
        assessment_id=f"asm-{secrets.token_hex(4)}",
        patient_state="CO",
        phq9_total=phq9,
        phq9_band=phq9_band(phq9),
        gad7_total=gad7,
        gad7_band=gad7_band(gad7),
        safety_flag=False,
        outcome="eligible",
        reasons=(),
    )


def started(session_id: str, at: datetime) -> SessionStarted:
    return SessionStarted(
        session_id=session_id,
        approval_id="apr-1",
        session_number=1,
        dose_mg=200,
        dose_finding=True,
        started_at=at,
        check_ins_due=(at,),
    )


def missed(session_id: str, index: int, level: int) -> CheckInMissed:
    return CheckInMissed(
        session_id=session_id,
        check_in_index=index,
        due_at=datetime.now(UTC),
        consecutive_misses=level,
        escalation_level=level,  # type: ignore[arg-type]
    )


async def test_emergency_escalations_and_adverse_events_become_items(svc: Svc) -> None:
    s, probe = svc
    patient, session = patient_id(), f"ses-{secrets.token_hex(4)}"
    adverse = AdverseEventReported(
        session_id=session,
        adverse_event_id=f"ae-{secrets.token_hex(4)}",
        kind=AdverseEventKind.NAUSEA_VOMITING,
        severity="mild",
        occurred_at=datetime.now(UTC),
    )
    emergency = build_event(missed(session, 2, 3), subject=patient)
    await s.publish(
        build_event(missed(session, 0, 1), subject=patient),
        build_event(missed(session, 1, 2), subject=patient),
        emergency,
        emergency,
        build_event(missed(session, 3, 3), subject=patient),
        build_event(adverse, subject=patient),
        build_event(adverse, subject=patient),  # the same adverse event reported again, as another event
    )
    await probe.until(
        "SELECT 1 FROM followup_items WHERE patient_id = $1 GROUP BY patient_id HAVING count(*) = 2", patient
    )
    listed = await s.client.get("/follow-up-items", params={"patient_id": patient}, headers=s.auth(Role.OPS))
    assert listed.status_code == 200
    found = listed.json()["items"]
    assert [(i["kind"], i["urgency"]) for i in found] == [
        ("emergency_escalation", "urgent"),
        ("adverse_event", "normal"),
    ]
    assert found[0]["details"]["check_in_index"] == 2 and found[1]["details"]["severity"] == "mild"

    assert (await s.client.get("/follow-up-items", headers=s.auth(Role.PATIENT, patient))).status_code == 403
    urgent = found[0]["item_id"]
    url = f"/follow-up-items/{urgent}/resolve"
    assert (await s.client.post(url, json={}, headers=s.auth(Role.OPS))).status_code == 403
    done = await s.client.post(url, json={"note": "Support person reached."}, headers=s.auth(Role.CLINICIAN, "cl-1"))
    assert done.status_code == 200 and done.json()["resolved_by"] == "cl-1"
    again = await s.client.post(url, headers=s.auth(Role.CLINICIAN, "cl-1"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "item_already_resolved"
    unknown = await s.client.post(f"/follow-up-items/{secrets.token_hex(16)}/resolve", headers=s.auth(Role.CLINICIAN))
    assert unknown.status_code == 404
    still_open = await s.client.get("/follow-up-items", params={"patient_id": patient}, headers=s.auth(Role.CLINICIAN))
    assert [i["kind"] for i in still_open.json()["items"]] == ["adverse_event"]
    audit = await probe.fetch("SELECT actor, action FROM audit.trail WHERE entity = $1", f"follow-up-item:{urgent}")
    assert [(r["actor"], r["action"]) for r in audit] == [("cl-1", "follow_up_item.resolved")]


async def test_mood_against_the_screening_baseline(svc: Svc) -> None:
    s, probe = svc
    patient = patient_id()
    me = s.auth(Role.PATIENT, patient)
    await s.publish(build_event(screened(phq9=18, gad7=11), subject=patient))
    await probe.until("SELECT 1 FROM followup_patients WHERE patient_id = $1 AND baseline_phq9 = 18", patient)

    key = {"Idempotency-Key": f"mood-{patient}"}
    first = await s.client.post(
        f"/patients/{patient}/mood", json={"phq9": PHQ9_OF_9, "gad7": GAD7_OF_5}, headers=me | key
    )
    again = await s.client.post(
        f"/patients/{patient}/mood", json={"phq9": PHQ9_OF_9, "gad7": GAD7_OF_5}, headers=me | key
    )
    assert first.status_code == again.status_code == 201, first.text
    assert first.json() == again.json()
    m = first.json()
    assert (m["phq9_total"], m["phq9_change_pct"], m["response"], m["remission"]) == (9, -50.0, True, False)
    assert (m["gad7_total"], m["gad7_change_pct"]) == (5, -54.5)

    gad7_only = await s.client.post(f"/patients/{patient}/mood", json={"gad7": [0] * 7}, headers=me)
    assert gad7_only.status_code == 201 and gad7_only.json()["phq9_total"] is None

    view = await s.client.get(f"/patients/{patient}/mood", headers=s.auth(Role.CLINICIAN))
    assert view.status_code == 200
    body = view.json()
    assert body["baseline"]["phq9_total"] == 18 and len(body["trajectory"]) == 2
    assert body["latest_phq9"]["measurement_id"] == m["measurement_id"]
    assert body["latest_gad7"]["gad7_change_pct"] == -100.0
    assert (await s.client.get(f"/patients/{patient}/mood", headers=me)).status_code == 200

    other = s.auth(Role.PATIENT, patient_id())
    assert (await s.client.get(f"/patients/{patient}/mood", headers=other)).status_code == 403
    assert (await s.client.post(f"/patients/{patient}/mood", json={"gad7": [0] * 7}, headers=other)).status_code == 403
    assert (await s.client.get(f"/patients/{patient_id()}/mood", headers=s.auth(Role.OPS))).status_code == 404
    for bad in ({}, {"phq9": [1] * 8}, {"phq9": [4] + [0] * 8}, {"gad7": ["1"] * 7}, {"gad7": [0] * 7, "mood": 1}):
        refused = await s.client.post(f"/patients/{patient}/mood", json=bad, headers=me)
        assert refused.status_code == 422, bad


async def test_a_self_harm_answer_raises_an_urgent_item(svc: Svc) -> None:
    s, _ = svc
    patient = patient_id()
    answers = [0, 0, 0, 0, 0, 0, 0, 0, 1]
    r = await s.client.post(f"/patients/{patient}/mood", json={"phq9": answers}, headers=s.auth(Role.PATIENT, patient))
    assert r.status_code == 201
    assert r.json()["phq9_change_pct"] is None  # no baseline yet
    items = await s.client.get("/follow-up-items", params={"patient_id": patient}, headers=s.auth(Role.CLINICIAN))
    assert [(i["kind"], i["urgency"]) for i in items.json()["items"]] == [("self_harm_answer", "urgent")]
    assert items.json()["items"][0]["details"]["measurement_id"] == r.json()["measurement_id"]


async def test_the_dose_review_is_due_once_after_the_first_session(svc: Svc) -> None:
    s, probe = svc
    patient = patient_id()
    first = datetime.now(UTC)
    await s.publish(
        build_event(started(f"ses-{secrets.token_hex(4)}", first), subject=patient),
        build_event(started(f"ses-{secrets.token_hex(4)}", first + timedelta(seconds=1)), subject=patient),
    )
    due = await probe.events(DoseReviewDue, lambda e: e.subject == patient, expect=1)
    assert [(e.data.first_session_at, e.data.due_at) for e in due] == [(first, first + timedelta(seconds=2))]
    assert await probe.outbox_count(DoseReviewDue, patient) == 1


async def test_outcomes_for_operations(svc: Svc) -> None:
    s, probe = svc
    patient = patient_id()
    await s.publish(
        build_event(screened(phq9=20, gad7=10), subject=patient),
        build_event(started(f"ses-{secrets.token_hex(4)}", datetime.now(UTC) - timedelta(minutes=5)), subject=patient),
    )
    await probe.until(
        "SELECT 1 FROM followup_patients WHERE patient_id = $1 AND baseline_phq9 IS NOT NULL"
        " AND first_session_at IS NOT NULL",
        patient,
    )
    remission = [0, 0, 0, 0, 0, 1, 1, 1, 0]
    r = await s.client.post(
        f"/patients/{patient}/mood", json={"phq9": remission}, headers=s.auth(Role.PATIENT, patient)
    )
    assert r.status_code == 201

    assert (await s.client.get("/outcomes", headers=s.auth(Role.CLINICIAN))).status_code == 403
    got = await s.client.get("/outcomes", headers=s.auth(Role.OPS))
    assert got.status_code == 200
    o = got.json()
    assert o["response"]["count"] >= 1 and o["remission"]["count"] >= 1
    assert o["started_treatment"] >= 1 and o["in_course"] >= 1
    assert o["phq9_reduction_week_10"]["reference_pct"] == 69.0
    assert o["gad7_reduction_week_10"]["reference_pct"] == 60.0
    assert o["improved_within_4_weeks"]["reference_pct"] == 87.0
    assert o["dropout"]["reference_pct"] == 26.7
    assert o["definitions"] == {"course_sessions": 6, "dropout_after_days": 30.0, "mark_tolerance_days": 7.0}
