"""Schemathesis against the service's own OpenAPI document: valid and invalid requests, each role, no 5xx and
every response as documented.  Besides random ids, the cases also target a real patient and a running session,
so the check-in, close, adverse-event and dose commands get past their 404."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from hearth.contracts import Approved, BoxDelivered, build_event
from hearth.kit.app import create_app
from hearth.kit.auth import AuthSettings, Role, mint_token
from hearth.kit.testing import postgres
from hearth.kit.testing.endpoints import Infra, UniqueName
from hearth.kit.testing.helpers import wait_for
from hearth.kit.testing.kafka import delete_topics
from hearth.kit.testing.service_harness import JWT_SECRET, ServiceUnderTest, free_port, prepare
from hearth.kit.topics import catalog_topics
from hearth.session.main import define
from hearth.session.settings import SessionSettings

PATIENT = "pt-schema-1"
# Mostly the clinician, who may call every command, so that most cases get past the role check.
ROLES = (Role.CLINICIAN, Role.CLINICIAN, Role.CLINICIAN, Role.PATIENT, Role.OPS, Role.PHARMACY)


@pytest.fixture
async def served(infra: Infra, unique_name: UniqueName) -> AsyncIterator[ServiceUnderTest]:
    """The service behind a real HTTP server in this event loop (its consumer, relay and poller included)."""
    prefix = unique_name("session") + "."
    service_settings, definition, dsn = await prepare(define, SessionSettings, infra, prefix)
    port = free_port()
    config = uvicorn.Config(
        create_app(definition, service_settings), host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "the server stopped during start-up"
        await asyncio.sleep(0.05)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        yield ServiceUnderTest(definition, service_settings, dsn, prefix, infra.kafka_bootstrap, client)
    server.should_exit = True
    await serving
    await postgres.drop_database(infra.pg_admin_dsn, dsn)
    await delete_topics(infra.kafka_bootstrap, catalog_topics(prefix))


async def running_session(svc: ServiceUnderTest) -> str:
    approval = Approved(
        approval_id="apr-1",
        assessment_id="asm-1",
        plan="extended",
        dose_count=24,
        starting_dose_mg=200,
        prescriber_id="clin-1",
        prescriber_license_state="CO",
        patient_state="CO",
    )
    box = BoxDelivered(
        order_id="ord-1", approval_id="apr-1", box_number=1, doses_in_box=24, delivered_at=datetime.now(UTC)
    )
    await svc.publish(build_event(approval, subject=PATIENT), build_event(box, subject=PATIENT))

    async def ready() -> bool:
        r = await svc.client.get(f"/patients/{PATIENT}", headers=svc.auth(Role.OPS))
        return r.status_code == 200 and r.json()["doses_on_hand"] == 24

    await wait_for(ready, timeout=30, what="the patient's doses")
    reading = {"systolic": 120, "diastolic": 80, "taken_at": datetime.now(UTC).isoformat()}
    body = {"patient_id": PATIENT, "blood_pressure": reading, "support_person_present": True}
    r = await svc.client.post("/sessions", json=body, headers=svc.auth(Role.CLINICIAN))
    assert r.status_code == 201, r.text
    session_id: str = r.json()["session_id"]
    return session_id


def exercise(base_url: str, session_id: str) -> None:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    tokens = {role: mint_token(AuthSettings(jwt_secret=JWT_SECRET), PATIENT, role) for role in set(ROLES)}
    known = {"session_id": session_id, "patient_id": PATIENT}
    cases = st.one_of(
        *(schema.as_strategy(mode) for mode in GenerationMode),
        *(schema.as_strategy(mode, path_parameters=known) for mode in GenerationMode),
    )

    @settings(max_examples=400, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=cases, role=st.sampled_from(ROLES))
    def no_server_error(case: schemathesis.Case, role: Role) -> None:
        case.call_and_validate(
            base_url=base_url,
            headers={"Authorization": f"Bearer {tokens[role]}"},
            checks=[not_a_server_error, response_schema_conformance],
            timeout=10,
        )

    no_server_error()


# Schemathesis' own strategies draw from `random`, which Hypothesis now warns about.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
async def test_no_server_errors_for_any_input(served: ServiceUnderTest) -> None:
    session_id = await running_session(served)
    await asyncio.to_thread(exercise, str(served.client.base_url).rstrip("/"), session_id)
