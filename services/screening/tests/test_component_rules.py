"""The dated prescribing rules over HTTP, real Postgres and Kafka, with the service's clock set on both sides of
the end of the telemedicine flexibilities (midnight, 1 January 2027, in the rules file's time zone): the rule
version and the regime are in the decision, its audit entry and the approved event."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hearth.contracts import Approved
from hearth.kit.auth import Role
from hearth.kit.clock import ManualClock
from hearth.kit.testing.service_harness import running_service
from hearth.rules import DEFAULT_FILE, load
from hearth.screening.examples import intake_body
from hearth.screening.main import define
from hearth.screening.settings import ScreeningSettings

RULES = load(DEFAULT_FILE)
ZONE = ZoneInfo(RULES.time_zone)
CLINICIAN = "clin-0042"


@pytest.fixture
async def clocked(infra, unique_name):
    clock = ManualClock(datetime(2026, 12, 31, 23, 0, tzinfo=ZONE))
    prefix = unique_name("screening-rules") + "."
    overrides = {"served_states": ("CO",)}
    async with running_service(define, ScreeningSettings, infra, prefix, clock=clock, overrides=overrides) as svc:
        yield svc, clock


async def test_approvals_on_both_sides_of_the_end_of_the_flexibilities(clocked, emitted):
    svc, clock = clocked
    system, clinician = svc.auth(Role.SYSTEM, "patient-app"), svc.auth(Role.CLINICIAN, CLINICIAN)
    ids = []
    for n in range(3):
        r = await svc.client.post("/intakes", json=intake_body(patient_id=f"pt-rules-{n}"), headers=system)
        assert r.status_code == 201, r.text
        ids.append(r.json()["assessment_id"])
    body = {"decision": "approve", "plan": "foundation", "starting_dose_mg": 200, "prescriber_id": CLINICIAN,
            "prescriber_license_state": "CO"}  # fmt: skip

    clock.set(datetime(2026, 12, 31, 23, 59, tzinfo=ZONE))
    last_minute = await svc.client.post(f"/assessments/{ids[0]}/decision", json=body, headers=clinician)
    assert last_minute.status_code == 201, last_minute.text
    assert (last_minute.json()["regime"], last_minute.json()["rules_version"]) == (
        "telemedicine_flexibility", RULES.version,
    )  # fmt: skip

    clock.set(datetime(2027, 1, 1, 0, 0, tzinfo=ZONE))
    refused = await svc.client.post(f"/assessments/{ids[1]}/decision", json=body, headers=clinician)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "in_person_evaluation_required"
    assert [f["field"] for f in error["fields"]] == ["body.in_person_evaluation_on"]
    evaluated = await svc.client.post(
        f"/assessments/{ids[2]}/decision", json=body | {"in_person_evaluation_on": "2026-12-28"}, headers=clinician
    )
    assert evaluated.status_code == 201, evaluated.text

    events = {e.subject: e.data for e in await emitted(svc, Approved, count=2)}
    assert set(events) == {"pt-rules-0", "pt-rules-2"}
    stamps = {s: (e.regime, e.rules_version) for s, e in events.items()}
    assert stamps == {
        "pt-rules-0": ("telemedicine_flexibility", RULES.version),
        "pt-rules-2": ("ryan_haight_in_person", RULES.version),
    }

    trail = await svc.client.get(f"/assessments/{ids[2]}/audit", headers=svc.auth(Role.OPS, "ops-1"))
    approved = next(e for e in trail.json()["entries"] if e["action"] == "approved")
    assert approved["details"].items() >= {
        "regime": "ryan_haight_in_person", "rules_version": RULES.version, "rules_digest": RULES.digest,
        "in_person_evaluation_on": "2026-12-28",
    }.items()  # fmt: skip
    conn = await svc.db()
    try:
        assert await conn.fetchval("SELECT count(*) FROM decisions") == 2  # the refusal stored nothing
    finally:
        await conn.close()
