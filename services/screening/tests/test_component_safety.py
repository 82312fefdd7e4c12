"""The clinician's work queue and the safety items over HTTP, real Postgres and Kafka, with the service's clock
under the test's control: the acknowledgement deadline fires once per escalation level, an acknowledgement (or
a decision) cancels it, and it survives a restart of the service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from hearth.contracts import SafetyReviewOverdue, spec_for
from hearth.kit.app import create_app
from hearth.kit.auth import AuthSettings, Role, mint_token
from hearth.kit.clock import ManualClock
from hearth.kit.testing.service_harness import JWT_SECRET, prepare, running_service
from hearth.screening.examples import answers, intake_body
from hearth.screening.main import define
from hearth.screening.settings import ScreeningSettings

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
SETTINGS = {"served_states": ("CO",), "safety_acknowledge_within_minutes": 60, "safety_escalate_every_minutes": 30}
OVERDUE = spec_for(SafetyReviewOverdue).type
CLINICIAN = "clin-0042"


def flagged(patient_id: str, item9: int = 1) -> dict:
    return intake_body(patient_id=patient_id, phq9=list(answers(18, 9, item9=item9)))


@pytest.fixture
async def clocked(infra, unique_name):
    clock = ManualClock(T0)
    prefix = unique_name("screening-safety") + "."
    async with running_service(define, ScreeningSettings, infra, prefix, clock=clock, overrides=SETTINGS) as svc:
        yield svc, clock


async def overdue_rows(dsn_or_svc) -> list[tuple[int, str]]:
    import asyncpg

    dsn = dsn_or_svc if isinstance(dsn_or_svc, str) else dsn_or_svc.dsn
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT payload FROM hearth_outbox WHERE event_type = $1 ORDER BY id", OVERDUE)
    finally:
        await conn.close()
    import orjson

    events = [orjson.loads(r["payload"]) for r in rows]
    return [(e["data"]["escalation_level"], e["data"]["safety_item_id"]) for e in events]


async def until_overdue(dsn_or_svc, count: int, timeout: float = 15.0) -> list[tuple[int, str]]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await overdue_rows(dsn_or_svc)
        if len(rows) >= count or asyncio.get_running_loop().time() > deadline:
            return rows
        await asyncio.sleep(0.1)


async def test_the_review_queue_lists_undecided_assessments_urgent_first_with_their_age(clocked):
    svc, clock = clocked
    system, clinician = svc.auth(Role.SYSTEM, "patient-app"), svc.auth(Role.CLINICIAN, CLINICIAN)
    ids = {}
    for patient, body in [
        ("pt-queue-eligible", intake_body(patient_id="pt-queue-eligible")),
        ("pt-queue-review", intake_body(patient_id="pt-queue-review", blood_pressure=None)),
        ("pt-queue-ineligible", intake_body(patient_id="pt-queue-ineligible", age=17)),
        ("pt-queue-urgent", flagged("pt-queue-urgent")),
    ]:
        r = await svc.client.post("/intakes", json=body, headers=system)
        assert r.status_code == 201, r.text
        ids[patient] = r.json()["assessment_id"]
        clock.advance(timedelta(minutes=1))
    clock.advance(timedelta(minutes=6))  # the last intake is 7 minutes old, the first 10

    queue = await svc.client.get("/review-queue", headers=clinician)
    assert queue.status_code == 200, queue.text
    items = queue.json()["items"]
    assert [i["patient_id"] for i in items] == ["pt-queue-urgent", "pt-queue-review", "pt-queue-eligible"]
    assert [i["urgent"] for i in items] == [True, False, False]
    assert [i["age_seconds"] for i in items] == [420, 540, 600]
    assert items[0]["safety_item"]["status"] == "open"
    assert items[0]["safety_item"]["acknowledge_by"] == (T0 + timedelta(minutes=63)).isoformat().replace("+00:00", "Z")

    decided = await svc.client.post(
        f"/assessments/{ids['pt-queue-review']}/decision",
        json={"decision": "decline", "reason": "clinical_judgement", "prescriber_id": CLINICIAN},
        headers=clinician,
    )
    assert decided.status_code == 201, decided.text
    after = (await svc.client.get("/review-queue", headers=clinician)).json()["items"]
    assert [i["patient_id"] for i in after] == ["pt-queue-urgent", "pt-queue-eligible"]
    assert (await svc.client.get("/review-queue", headers=svc.auth(Role.PATIENT, "pt-queue-urgent"))).status_code == 403


async def test_the_deadline_fires_once_per_level_until_acknowledged_then_never_again(clocked, emitted):
    svc, clock = clocked
    clinician = svc.auth(Role.CLINICIAN, CLINICIAN)
    r = await svc.client.post("/intakes", json=flagged("pt-safety-1", item9=2), headers=svc.auth(Role.SYSTEM, "app"))
    assessment_id = r.json()["assessment_id"]
    [item] = (await svc.client.get("/safety-items", headers=clinician)).json()["items"]
    assert (item["assessment_id"], item["status"], item["phq9_item9"]) == (assessment_id, "open", 2)

    clock.set(T0 + timedelta(minutes=59))
    await asyncio.sleep(1.0)
    assert await overdue_rows(svc) == []  # not before the deadline

    clock.set(T0 + timedelta(minutes=61))
    assert await until_overdue(svc, 1) == [(1, item["id"])]
    await asyncio.sleep(1.0)  # the poller keeps polling: still one
    assert await overdue_rows(svc) == [(1, item["id"])]
    clock.set(T0 + timedelta(minutes=92))
    assert await until_overdue(svc, 2) == [(1, item["id"]), (2, item["id"])]

    ack = await svc.client.post(f"/safety-items/{item['id']}/acknowledge", headers=clinician)
    assert ack.status_code == 200, ack.text
    assert (ack.json()["status"], ack.json()["acknowledged_by"], ack.json()["escalation_level"]) == (
        "acknowledged", CLINICIAN, 2,
    )  # fmt: skip
    again = await svc.client.post(f"/safety-items/{item['id']}/acknowledge", headers=clinician)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_acknowledged")
    clock.set(T0 + timedelta(hours=5))
    await asyncio.sleep(1.5)
    assert len(await overdue_rows(svc)) == 2

    resolved = await svc.client.post(
        f"/safety-items/{item['id']}/resolve", json={"note": "Called; safety plan agreed."}, headers=clinician
    )
    assert resolved.status_code == 200, resolved.text
    assert (resolved.json()["status"], resolved.json()["resolution_note"]) == (
        "resolved",
        "Called; safety plan agreed.",
    )

    events = await emitted(svc, SafetyReviewOverdue, count=2)
    assert sorted(e.data.escalation_level for e in events) == [1, 2]
    assert {e.subject for e in events} == {"pt-safety-1"}
    assert "safety plan" not in events[0].to_json().decode()
    trail = await svc.client.get(f"/assessments/{assessment_id}/audit", headers=svc.auth(Role.OPS, "ops-1"))
    actions = [(e["action"], e["actor"]) for e in trail.json()["entries"]]
    assert actions == [
        ("screened", "app"), ("safety_item_raised", "app"), ("safety_review_overdue", "timer"),
        ("safety_review_overdue", "timer"), ("safety_item_acknowledged", CLINICIAN),
        ("safety_item_resolved", CLINICIAN),
    ]  # fmt: skip
    conn = await svc.db()
    try:
        assert await conn.fetchval("SELECT count(*) FROM hearth_timers") == 0
    finally:
        await conn.close()


async def test_an_acknowledgement_or_a_decision_before_the_deadline_cancels_it(clocked):
    svc, clock = clocked
    system, clinician = svc.auth(Role.SYSTEM, "app"), svc.auth(Role.CLINICIAN, CLINICIAN)
    first = (await svc.client.post("/intakes", json=flagged("pt-safety-2"), headers=system)).json()
    second = (await svc.client.post("/intakes", json=flagged("pt-safety-3"), headers=system)).json()
    items = {i["assessment_id"]: i for i in (await svc.client.get("/safety-items", headers=clinician)).json()["items"]}
    clock.advance(timedelta(minutes=10))
    ack = await svc.client.post(f"/safety-items/{items[first['assessment_id']]['id']}/acknowledge", headers=clinician)
    assert ack.status_code == 200, ack.text
    decline = {"decision": "decline", "reason": "clinical_judgement", "prescriber_id": CLINICIAN}
    decided = await svc.client.post(f"/assessments/{second['assessment_id']}/decision", json=decline, headers=clinician)
    assert decided.status_code == 201, decided.text

    clock.advance(timedelta(hours=3))
    await asyncio.sleep(1.5)
    assert await overdue_rows(svc) == []
    listed = (await svc.client.get("/safety-items?status=all", headers=clinician)).json()["items"]
    assert {i["status"] for i in listed} == {"acknowledged"}
    assert {i["acknowledged_by"] for i in listed} == {CLINICIAN}
    assert (await svc.client.get("/safety-items", headers=clinician)).json()["items"] == []  # none open


@asynccontextmanager
async def serving(definition, settings, clock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(definition, settings, clock)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://s") as client:
        yield client


async def test_the_deadline_survives_a_restart(infra, unique_name):
    clock = ManualClock(T0)
    settings, definition, dsn = await prepare(
        define, ScreeningSettings, infra, unique_name("screening-restart") + ".", overrides=SETTINGS
    )
    headers = {"Authorization": f"Bearer {mint_token(AuthSettings(jwt_secret=JWT_SECRET), 'app', Role.SYSTEM)}"}
    async with serving(definition, settings, clock) as client:
        r = await client.post("/intakes", json=flagged("pt-safety-restart", item9=3), headers=headers)
        assert r.status_code == 201, r.text
    assert await overdue_rows(dsn) == []  # stopped before the deadline

    clock.set(T0 + timedelta(minutes=65))  # the deadline passes while the service is down
    async with serving(definition, settings, clock):
        rows = await until_overdue(dsn, 1)
        await asyncio.sleep(1.0)
        assert [level for level, _ in await overdue_rows(dsn)] == [1]
    assert [level for level, _ in rows] == [1]
