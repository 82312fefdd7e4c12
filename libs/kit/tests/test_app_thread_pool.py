"""No request goes through the thread pool: FastAPI runs a plain-function dependency or endpoint in a worker
thread, a handoff (two thread switches and the GIL back and forth) on every request for what is, in this code,
never blocking work.  Every dependency the kit offers services, and every route the kit mounts, is a coroutine."""

from __future__ import annotations

import base64
import inspect
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from hearth.kit import audit_keys
from hearth.kit.app import RuntimeDep, create_app
from hearth.kit.auth import Principal, Role, require_roles
from hearth.kit.service import ServiceDefinition
from hearth.kit.settings import KitSettings


def _calls(dependant: Dependant) -> Iterator[Any]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _api_routes(routes: Any) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        # An included router is kept as a wrapper around the original (FastAPI >= 0.16x), not copied in.
        inner = getattr(getattr(route, "original_router", None), "routes", None) or getattr(route, "routes", None)
        if inner:
            yield from _api_routes(inner)


def _in_thread_pool(call: Any) -> bool:
    target = call if inspect.isroutine(call) else getattr(call, "__call__", call)  # noqa: B004 - instances too
    return not inspect.iscoroutinefunction(target)


def test_no_kit_dependency_or_route_runs_in_the_thread_pool() -> None:
    router = APIRouter()

    @router.get("/probe")
    async def probe(
        runtime: RuntimeDep, principal: Annotated[Principal, Depends(require_roles(Role.CLINICIAN))]
    ) -> dict[str, str]:
        return {}

    settings = KitSettings(
        database_url="postgresql://nobody@127.0.0.1:1/none",  # never connected: the lifespan does not run
        kafka_bootstrap="127.0.0.1:1",
        jwt_secret="a-test-secret-that-is-long-enough-for-hs256",
        idempotency_secret="a-test-idempotency-key-that-is-32-bytes-or-more",
        audit_signing_key=audit_keys.encode_private(audit_keys.generate()),
        master_key=base64.b64encode(b"a-test-master-key-of-32-bytes-ok").decode(),
    )
    app = create_app(ServiceDefinition(name="screening", title="probe", routers=(router,)), settings)
    routes = list(_api_routes(app.routes))
    assert any(r.path == "/probe" for r in routes) and len(routes) > 3
    calls = {(r.path, c) for r in routes for c in _calls(r.dependant)}
    blocking = sorted(f"{path}: {getattr(c, '__qualname__', c)}" for path, c in calls if _in_thread_pool(c))
    assert blocking == []
