"""Schemathesis against the service's own OpenAPI document, over real HTTP: no input makes it answer 5xx."""

from __future__ import annotations

import asyncio

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hearth.fulfillment.main import define
from hearth.fulfillment.settings import FulfillmentSettings
from hearth.kit.app import create_app
from hearth.kit.auth import AuthSettings, Role, mint_token
from hearth.kit.testing.service_harness import JWT_SECRET, ServiceUnderTest, free_port, prepare

from .services import MASTER_KEY, approved, order_of

PATIENT = "pt-fuzz"
# Who may call what: most generated requests carry an allowed role, so they reach the handlers.
ROLES = {
    "/orders": [Role.OPS, Role.PHARMACY],
    "/orders/{order_id}": [Role.OPS, Role.PHARMACY],
    "/orders/{order_id}/audit": [Role.OPS],
    "/orders/{order_id}/boxes/{box_number}/pack": [Role.PHARMACY],
    "/orders/{order_id}/boxes/{box_number}/ship": [Role.PHARMACY],
    "/orders/{order_id}/boxes/{box_number}/delivered": [Role.SYSTEM],
    "/orders/{order_id}/boxes/{box_number}/returned": [Role.SYSTEM],
    "/orders/{order_id}/boxes/{box_number}/lost": [Role.SYSTEM],
    "/orders/{order_id}/flags/{flag}/resolve": [Role.OPS],
    "/orders/{order_id}/shipping-details": [Role.PATIENT, Role.SYSTEM, Role.PHARMACY],
    "/patients/{patient_id}/personal-data": [Role.PRIVACY_OFFICER],
}


def _fuzz(base_url: str, order_id: str) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    tokens = {role: mint_token(AuthSettings(jwt_secret=JWT_SECRET), PATIENT, role) for role in Role}
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        allowed = ROLES.get(operation.path, list(Role))
        roles = st.one_of(st.sampled_from(allowed), st.sampled_from(list(Role)))

        @settings(
            max_examples=20,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), role=roles, known=st.booleans())
        def call(case, role, known) -> None:
            if known and case.path_parameters and "order_id" in case.path_parameters:
                case.path_parameters["order_id"] = order_id  # the seeded order: reach the domain, not a 404
                if "box_number" in case.path_parameters:
                    case.path_parameters["box_number"] = 1
            response = case.call(base_url=base_url, headers={"Authorization": f"Bearer {tokens[role]}"})
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} as {role}: {response.status_code} {response.text[:200]}"
                )

        call()
    return failures


# schemathesis's own strategies draw from `random` now and then, which hypothesis reports as deprecated
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
async def test_no_generated_request_gets_a_server_error(infra, unique_name):
    prefix = unique_name("fulfillment") + "."
    config, definition, dsn = await prepare(define, FulfillmentSettings, infra, prefix, {"master_key": MASTER_KEY})
    app = create_app(definition, config)
    async with app.router.lifespan_context(app):
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None, access_log=False)
        )
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:
                await asyncio.sleep(0.05)
            svc = ServiceUnderTest(definition, config, dsn, prefix, infra.kafka_bootstrap, client=None)  # type: ignore[arg-type]  # no client: over real HTTP
            await svc.publish(approved("apr-fuzz", PATIENT))
            order_id = (await order_of(svc, "apr-fuzz"))["order_id"]
            failures = await asyncio.to_thread(_fuzz, f"http://127.0.0.1:{port}", order_id)
        finally:
            server.should_exit = True
            await serving
    assert failures == []
