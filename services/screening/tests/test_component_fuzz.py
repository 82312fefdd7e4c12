"""Schemathesis against the running service's OpenAPI document: valid and invalid requests, with a token of the
role each route wants and with the ids of real records, never get a 5xx."""

from __future__ import annotations

import asyncio

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from hearth.kit.auth import AuthSettings, Role, mint_token
from hearth.kit.testing.service_harness import JWT_SECRET, ServiceProcess, prepare, service_env
from hearth.screening.examples import answers, intake_body
from hearth.screening.main import define
from hearth.screening.settings import ScreeningSettings

CLINICIAN = "clin-fuzz"
CALLERS = {  # (method, path) -> the role and subject of the token sent
    ("POST", "/intakes"): (Role.SYSTEM, "patient-app"),
    ("GET", "/assessments/{assessment_id}"): (Role.CLINICIAN, CLINICIAN),
    ("POST", "/assessments/{assessment_id}/decision"): (Role.CLINICIAN, CLINICIAN),
    ("POST", "/approvals/{approval_id}/revoke"): (Role.CLINICIAN, CLINICIAN),
    ("GET", "/assessments/{assessment_id}/audit"): (Role.OPS, "ops-fuzz"),
}


def _bearer(role: Role, subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(AuthSettings(jwt_secret=JWT_SECRET), subject, role)}"}


async def _seed(url: str) -> dict[str, list[str]]:
    """Real records for the fuzzer to aim at: an eligible and a needs_review assessment, and an approval."""
    async with httpx.AsyncClient(base_url=url) as client:
        system = _bearer(Role.SYSTEM, "patient-app")
        eligible = (await client.post("/intakes", json=intake_body(patient_id="pt-fuzz-1"), headers=system)).json()
        flagged_body = intake_body(patient_id="pt-fuzz-2", phq9=list(answers(12, 9, item9=1)))
        flagged = (await client.post("/intakes", json=flagged_body, headers=system)).json()
        other = (await client.post("/intakes", json=intake_body(patient_id="pt-fuzz-3"), headers=system)).json()
        body = {"decision": "approve", "plan": "foundation", "starting_dose_mg": 100, "prescriber_id": CLINICIAN,
                "prescriber_license_state": "CO"}  # fmt: skip
        decision = await client.post(
            f"/assessments/{other['assessment_id']}/decision", json=body, headers=_bearer(Role.CLINICIAN, CLINICIAN)
        )
        assert decision.status_code == 201, decision.text
    return {
        "assessment_id": [eligible["assessment_id"], flagged["assessment_id"], other["assessment_id"]],
        "approval_id": [decision.json()["approval_id"]],
    }


def _fuzz(url: str, ids: dict[str, list[str]]) -> int:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        caller = CALLERS.get((operation.method.upper(), operation.path))
        if caller is not None:  # not /healthz, /readyz, /metrics: they are not part of the API under test
            calls += _fuzz_operation(operation, url, caller, ids)
    return calls


def _fuzz_operation(
    operation: schemathesis.APIOperation, url: str, caller: tuple[Role, str], ids: dict[str, list[str]]
) -> int:
    headers = _bearer(*caller)
    strategies = [operation.as_strategy(mode, headers=headers) for mode in GenerationMode]
    for name, values in ids.items():
        if "{" + name + "}" in operation.path:
            strategies += [
                operation.as_strategy(mode, headers=headers, path_parameters={name: value})
                for mode in GenerationMode
                for value in values
            ]
    calls = 0

    @settings(max_examples=25, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=st.one_of(strategies), as_caller=st.booleans())
    def check(case: schemathesis.Case, as_caller: bool) -> None:
        nonlocal calls
        if as_caller and isinstance(case.body, dict) and "prescriber_id" in case.body:
            case.body["prescriber_id"] = caller[1]  # past the "decide in your own name" check
        response = case.call(base_url=url, headers=headers)
        calls += 1
        case.validate_response(response, checks=[not_a_server_error])

    check()
    return calls


async def test_fuzzing_the_api_finds_no_server_error(infra, unique_name):
    overrides = {"served_states": ("CO",)}
    settings_, _, _ = await prepare(define, ScreeningSettings, infra, unique_name("screening") + ".", overrides)
    service = ServiceProcess("hearth.screening.main", service_env(settings_))
    await service.start()
    try:
        ids = await _seed(service.url)
        calls = await asyncio.to_thread(_fuzz, service.url, ids)
    finally:
        service.stop()
    assert calls >= 5 * 25
