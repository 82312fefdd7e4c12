"""Fixtures of the session service's component tests: the service on real Kafka and Postgres, its clock moved by
the test, short timings, and `journey`, the steps a test takes through it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hearth.contracts import Approved, BoxDelivered, Event, build_event
from hearth.kit.auth import Role
from hearth.kit.clock import ManualClock
from hearth.kit.testing import postgres
from hearth.kit.testing.endpoints import Infra, UniqueName
from hearth.kit.testing.helpers import wait_for
from hearth.kit.testing.kafka import delete_topics
from hearth.kit.testing.service_harness import ServiceUnderTest, running_service
from hearth.kit.topics import catalog_topics
from hearth.session.main import define
from hearth.session.settings import SessionSettings

# Check-ins at 0, 10 and 20 s, each missed 5 s later; the session closes itself 5 s after the last one.
SHORT_TIMINGS: dict[str, Any] = {
    "check_in_offsets_seconds": (0, 10, 20),
    "check_in_grace_seconds": 5,
    "auto_close_after_seconds": 5,
}
CLINICIAN = "clin-0042"
Json = dict[str, Any]


def approved(patient: str, approval: str = "apr-1", dose: int = 200) -> Event[Approved]:
    data = Approved(
        approval_id=approval,
        assessment_id="asm-1",
        plan="foundation",
        dose_count=8,
        starting_dose_mg=dose,
        prescriber_id=CLINICIAN,
        prescriber_license_state="CO",
        patient_state="CO",
    )
    return build_event(data, subject=patient)


def delivered(patient: str, approval: str = "apr-1", doses: int = 8) -> Event[BoxDelivered]:
    data = BoxDelivered(
        order_id=f"ord-{approval}",
        approval_id=approval,
        box_number=1,
        doses_in_box=doses,
        delivered_at=datetime.now(UTC),
    )
    return build_event(data, subject=patient)


@dataclass
class Journey:
    """A patient's way through the service under test: events in, HTTP commands, the patient view."""

    svc: ServiceUnderTest
    clock: ManualClock
    approved = staticmethod(approved)
    delivered = staticmethod(delivered)

    @staticmethod
    def new_patient() -> str:
        return f"pt-{uuid.uuid4().hex[:12]}"

    @staticmethod
    def at(session: Json, seconds: float) -> datetime:
        """A time `seconds` after the session started."""
        return datetime.fromisoformat(session["started_at"]) + timedelta(seconds=seconds)

    def clinician(self) -> dict[str, str]:
        return self.svc.auth(Role.CLINICIAN, CLINICIAN)

    async def patient_view(self, patient: str) -> Json | None:
        r = await self.svc.client.get(f"/patients/{patient}", headers=self.svc.auth(Role.OPS))
        assert r.status_code in (200, 404), r.text
        return r.json() if r.status_code == 200 else None

    async def until_patient(self, patient: str, what: str, check: Callable[[Json], bool]) -> Json:
        async def view() -> Json | None:
            found = await self.patient_view(patient)
            return found if found is not None and check(found) else None

        result: Json = await wait_for(view, timeout=30, what=what)
        return result

    async def ready_patient(self) -> str:
        """A new patient with an approval and a delivered box of 8 doses, both applied."""
        patient = self.new_patient()
        await self.svc.publish(approved(patient), delivered(patient))
        await self.until_patient(patient, "doses on hand", lambda v: v["doses_on_hand"] == 8)
        return patient

    def start_body(self, patient: str, **changes: Any) -> Json:
        reading = {"systolic": 120, "diastolic": 80, "taken_at": self.clock.now().isoformat()}
        return {"patient_id": patient, "blood_pressure": reading, "support_person_present": True, **changes}

    async def start(self, patient: str) -> Json:
        r = await self.svc.client.post(
            "/sessions", json=self.start_body(patient), headers=self.svc.auth(Role.PATIENT, patient)
        )
        assert r.status_code == 201, r.text
        body: Json = r.json()
        return body

    async def check_in(self, session: Json, index: int, **extra: Any) -> Json:
        r = await self.svc.client.post(
            f"/sessions/{session['session_id']}/check-ins",
            json={"check_in_index": index, **extra},
            headers=self.clinician(),
        )
        assert r.status_code == 201, r.text
        body: Json = r.json()
        return body


@pytest.fixture
def clock() -> ManualClock:
    """The service's clock: timers fire only when a test moves it."""
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def service(infra: Infra, unique_name: UniqueName, clock: ManualClock) -> AsyncIterator[ServiceUnderTest]:
    """The service in this process, with its real consumer, relay and timer poller, on a fresh database and
    topics of its own (removed afterwards)."""
    prefix = unique_name("session") + "."
    async with running_service(define, SessionSettings, infra, prefix, clock=clock, overrides=SHORT_TIMINGS) as svc:
        yield svc
    await postgres.drop_database(infra.pg_admin_dsn, svc.dsn)
    await delete_topics(infra.kafka_bootstrap, catalog_topics(prefix))


@pytest.fixture
def journey(service: ServiceUnderTest, clock: ManualClock) -> Journey:
    return Journey(service, clock)
