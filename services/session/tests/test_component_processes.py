"""The service as real processes on the real clock: check-ins at 0, 3 and 6 s, each missed 2 s after its time.
SIGKILLed while a check-in is due, or run as two replicas on one database, each miss is published once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from hearth.contracts import Approved, BoxDelivered, CheckInMissed, SessionCompleted, build_event
from hearth.kit.auth import Role
from hearth.kit.testing import postgres
from hearth.kit.testing.endpoints import Infra, UniqueName
from hearth.kit.testing.helpers import wait_for
from hearth.kit.testing.kafka import delete_topics
from hearth.kit.testing.service_harness import ServiceProcess, ServiceUnderTest, prepare, service_env
from hearth.kit.topics import catalog_topics
from hearth.session.main import define
from hearth.session.settings import SessionSettings

TIMINGS = {"check_in_offsets_seconds": (0, 3, 6), "check_in_grace_seconds": 2, "auto_close_after_seconds": 2}
MODULE = "hearth.session.main"


@pytest.fixture
async def deployment(infra: Infra, unique_name: UniqueName) -> AsyncIterator[tuple[ServiceUnderTest, dict[str, str]]]:
    """A migrated database and topics, the environment of a service process on them, and a test handle whose
    client the test points at a process."""
    prefix = unique_name("session") + "."
    settings, definition, dsn = await prepare(define, SessionSettings, infra, prefix, overrides=TIMINGS)
    env = service_env(settings)  # without HEARTH_HTTP_PORT: each process picks a free port
    async with httpx.AsyncClient(timeout=10) as client:
        yield ServiceUnderTest(definition, settings, dsn, prefix, infra.kafka_bootstrap, client), env
    await postgres.drop_database(infra.pg_admin_dsn, dsn)
    await delete_topics(infra.kafka_bootstrap, catalog_topics(prefix))


async def start_session(svc: ServiceUnderTest, url: str) -> dict[str, Any]:
    """A patient with an approval and a delivered box starts a session."""
    patient = f"pt-{uuid.uuid4().hex[:12]}"
    approval = Approved(
        approval_id="apr-1",
        assessment_id="asm-1",
        plan="foundation",
        dose_count=8,
        starting_dose_mg=200,
        prescriber_id="clin-1",
        prescriber_license_state="CO",
        patient_state="CO",
    )
    box = BoxDelivered(
        order_id="ord-1", approval_id="apr-1", box_number=1, doses_in_box=8, delivered_at=datetime.now(UTC)
    )
    await svc.publish(build_event(approval, subject=patient), build_event(box, subject=patient))

    async def doses_on_hand() -> bool:
        r = await svc.client.get(f"{url}/patients/{patient}", headers=svc.auth(Role.OPS))
        return r.status_code == 200 and r.json()["doses_on_hand"] == 8

    await wait_for(doses_on_hand, timeout=30, what="the patient's doses on hand")
    reading = {"systolic": 118, "diastolic": 76, "taken_at": datetime.now(UTC).isoformat()}
    body = {"patient_id": patient, "blood_pressure": reading, "support_person_present": True}
    r = await svc.client.post(f"{url}/sessions", json=body, headers=svc.auth(Role.PATIENT, patient))
    assert r.status_code == 201, r.text
    session: dict[str, Any] = r.json()
    return session


def misses_per_check_in(events: list[Any]) -> Counter[tuple[str, int]]:
    return Counter((e.data.session_id, e.data.check_in_index) for e in events)


async def test_killed_while_a_check_in_is_due_still_misses_it_once(
    deployment: tuple[ServiceUnderTest, dict[str, str]],
) -> None:
    svc, env = deployment
    first = await ServiceProcess(MODULE, env).start()
    try:
        session = await start_session(svc, first.url)
        first.kill()
        conn = await asyncpg.connect(svc.dsn)
        try:
            status = await conn.fetchval(
                "SELECT status FROM session_check_ins WHERE session_id = $1 AND check_in_index = 0",
                session["session_id"],
            )
        finally:
            await conn.close()
        assert status == "pending"  # killed before check-in 0 was missed
        deadline = datetime.fromisoformat(session["started_at"]) + timedelta(seconds=2)
        await asyncio.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 0.5)
    finally:
        first.kill()

    second = await ServiceProcess(MODULE, env).start()
    try:
        misses = await svc.wait_for_events(CheckInMissed, count=3, timeout=30, settle=2)
        [completed] = await svc.wait_for_events(SessionCompleted, count=1, timeout=30)
    finally:
        second.stop()
    assert misses_per_check_in(misses) == {(session["session_id"], i): 1 for i in range(3)}
    by_index = {m.data.check_in_index: m.data.consecutive_misses for m in misses}
    assert by_index == {0: 1, 1: 2, 2: 3}
    assert (completed.data.closed_by, completed.data.missed_check_ins) == ("auto", 3)


async def test_two_replicas_publish_each_miss_once(deployment: tuple[ServiceUnderTest, dict[str, str]]) -> None:
    svc, env = deployment
    replicas = [ServiceProcess(MODULE, env), ServiceProcess(MODULE, env)]
    await asyncio.gather(*(r.start() for r in replicas))
    try:
        sessions = [await start_session(svc, replicas[i % 2].url) for i in range(4)]
        misses = await svc.wait_for_events(CheckInMissed, count=12, timeout=40, settle=2)
        completions = await svc.wait_for_events(SessionCompleted, count=4, timeout=30)
    finally:
        for replica in replicas:
            replica.stop()
    assert misses_per_check_in(misses) == {(s["session_id"], i): 1 for s in sessions for i in range(3)}
    assert Counter(c.data.session_id for c in completions) == {s["session_id"]: 1 for s in sessions}
