"""Check-ins, misses, escalation and closing on the service in this process, its clock moved by the test:
check-ins at 0, 10 and 20 s, each missed 5 s after its time, the session closed 5 s after the last one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hearth.contracts import AdverseEventReported, CheckInMissed, SessionCompleted
from hearth.kit.auth import Role

if TYPE_CHECKING:
    from conftest import Journey


def summary(misses: list[CheckInMissed]) -> list[tuple[int, int, int]]:
    return [(m.check_in_index, m.consecutive_misses, m.escalation_level) for m in misses]


async def test_check_ins_on_time_mean_no_miss(journey: Journey) -> None:
    svc = journey.svc
    session = await journey.start(await journey.ready_patient())
    for index, offset in enumerate((0, 10, 20)):
        journey.clock.set(journey.at(session, offset + 4))
        recorded = await journey.check_in(
            session, index, vitals={"systolic": 130, "heart_rate_bpm": 80}, notes="calm, talking"
        )
        assert recorded["check_ins"][index]["status"] == "done"
    journey.clock.set(journey.at(session, 25))  # the last check-in's time + 5 s: closed automatically

    [completed] = await svc.wait_for_events(SessionCompleted, count=1)
    assert (completed.data.closed_by, completed.data.missed_check_ins) == ("auto", 0)
    assert await svc.wait_for_events(CheckInMissed, count=1, timeout=1, settle=0) == []
    path = f"/sessions/{session['session_id']}"
    for_clinician = (await svc.client.get(path, headers=journey.clinician())).json()
    for_ops = (await svc.client.get(path, headers=svc.auth(Role.OPS))).json()
    assert for_clinician["status"] == "completed"
    assert for_clinician["check_ins"][0]["notes"] == "calm, talking"
    assert for_clinician["check_ins"][0]["vitals"] == {"systolic": 130, "heart_rate_bpm": 80}
    assert for_ops["check_ins"][0]["notes"] is None


async def test_two_skipped_check_ins_escalate(journey: Journey) -> None:
    svc = journey.svc
    session = await journey.start(await journey.ready_patient())
    journey.clock.set(journey.at(session, 5))
    [first] = await svc.wait_for_events(CheckInMissed, count=1, settle=0)
    journey.clock.set(journey.at(session, 15))
    misses = await svc.wait_for_events(CheckInMissed, count=2)
    assert summary([m.data for m in misses]) == [(0, 1, 1), (1, 2, 2)]
    assert misses[0].data.due_at == journey.at(session, 0) and misses[0].id == first.id

    journey.clock.set(journey.at(session, 20))
    await journey.check_in(session, 2)
    notes = "BP 150/95 at 45 min"
    r = await svc.client.post(
        f"/sessions/{session['session_id']}/adverse-events",
        json={"kind": "hypertension", "severity": "moderate", "notes": notes},
        headers=journey.clinician(),
    )
    assert r.status_code == 201, r.text
    closed = await svc.client.post(f"/sessions/{session['session_id']}/close", headers=journey.clinician())
    assert closed.status_code == 200 and closed.json()["status"] == "completed"

    [completed] = await svc.wait_for_events(SessionCompleted, count=1)
    assert (completed.data.closed_by, completed.data.missed_check_ins) == ("clinician", 2)
    [reported] = await svc.wait_for_events(AdverseEventReported, count=1)
    assert (reported.data.kind, reported.data.severity) == ("hypertension", "moderate")
    assert notes.encode() not in reported.to_json()


async def test_a_late_check_in_is_recorded_late_and_resets_the_count(journey: Journey) -> None:
    svc = journey.svc
    session = await journey.start(await journey.ready_patient())
    journey.clock.set(journey.at(session, 5))
    [missed] = await svc.wait_for_events(CheckInMissed, count=1, settle=0)
    assert (missed.data.check_in_index, missed.data.consecutive_misses) == (0, 1)

    journey.clock.set(journey.at(session, 7))
    late = await journey.check_in(session, 0)
    assert late["check_ins"][0]["status"] == "late"
    assert late["consecutive_misses"] == 0

    journey.clock.set(journey.at(session, 15))
    misses = await svc.wait_for_events(CheckInMissed, count=2)
    assert summary([m.data for m in misses]) == [(0, 1, 1), (1, 1, 1)]
