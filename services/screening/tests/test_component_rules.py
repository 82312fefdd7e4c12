"""The dated prescribing rules over HTTP, real Postgres and Kafka, with the service's clock set on both sides of
the end of the telemedicine flexibilities (midnight, 1 January 2027, in the rules file's time zone): the rule
version and the regime are in the decision, its audit entry and the approved event."""

from __future__ import annotations

import os
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


async def test_an_edited_rules_file_applies_to_the_next_intake_and_a_bad_edit_is_refused(infra, unique_name, tmp_path):
    path = tmp_path / "rules.toml"
    text = DEFAULT_FILE.read_text()
    path.write_text(text)
    prefix = unique_name("screening-reload") + "."
    overrides = {"served_states": ("CO",), "rules_file": str(path)}
    async with running_service(define, ScreeningSettings, infra, prefix, overrides=overrides) as svc:
        system = svc.auth(Role.SYSTEM, "patient-app")

        async def outcome(patient: str) -> str:
            body = intake_body(patient_id=patient, blood_pressure={"systolic": 138, "diastolic": 80})
            r = await svc.client.post("/intakes", json=body, headers=system)
            assert r.status_code == 201, r.text
            return str(r.json()["outcome"])

        assert await outcome("pt-reload-1") == "eligible"  # no borderline band by default
        path.write_text(
            text.replace('version = "2026.12.03-1"', 'version = "2026.12.03-2"').replace(
                "borderline_margin_mmhg = 0", "borderline_margin_mmhg = 5"
            )
        )
        os.utime(path, ns=(10**18, 10**18))
        assert await outcome("pt-reload-2") == "needs_review"  # the band opted in, without a restart
        path.write_text(text.replace("max_refills = 5", "max_refills = 50"))  # refused: beyond the regulation
        os.utime(path, ns=(2 * 10**18, 2 * 10**18))
        assert await outcome("pt-reload-3") == "needs_review"  # the last good version stays in force
        trail = await svc.client.get("/review-queue", headers=svc.auth(Role.CLINICIAN, CLINICIAN))
        assert [i["patient_id"] for i in trail.json()["items"]] == ["pt-reload-2", "pt-reload-3", "pt-reload-1"]
