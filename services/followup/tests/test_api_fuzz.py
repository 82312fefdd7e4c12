"""Schemathesis against the service's OpenAPI document, running app and all: whatever the request, no 5xx."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.python import asgi

from hearth.followup.main import define
from hearth.followup.settings import FollowupSettings
from hearth.kit.app import create_app
from hearth.kit.auth import AuthSettings, Role, mint_token
from hearth.kit.testing.service_harness import JWT_SECRET, prepare

T = TypeVar("T")
EXAMPLES_PER_OPERATION = 25
FUZZ_PATIENT = "pt-fuzz-1"


def run_in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on its own loop (this test is synchronous: schemathesis drives the app)."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]  # type: ignore[no-any-return]


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_no_request_makes_a_server_error(infra: Any) -> None:
    prefix = f"followup-{secrets.token_hex(4)}."
    config, definition, _ = run_in_thread(prepare(define, FollowupSettings, infra, prefix))
    app = create_app(definition, config)
    auth = AuthSettings(jwt_secret=JWT_SECRET)
    tokens = [mint_token(auth, FUZZ_PATIENT if r == Role.PATIENT else "fuzz-1", r) for r in Role] + [None]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)  # starts the app's lifespan
    failures: list[str] = []
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            strategy = st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
            )

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy, token=st.sampled_from(tokens), own_record=st.sampled_from([True, False]))
            def no_server_error(case: schemathesis.Case, token: str | None, own_record: bool) -> None:
                # Our token replaces any generated one; half the time a patient's path names their own record.
                headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
                case.headers = headers | ({"Authorization": f"Bearer {token}"} if token else {})
                if own_record and case.path_parameters and "patient_id" in case.path_parameters:
                    case.path_parameters["patient_id"] = FUZZ_PATIENT
                response = case.call()
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text}")
                assert response.status_code < 500, failures[-1]

            no_server_error()
    finally:
        asgi.shutdown_lifespans()
    assert failures == []
