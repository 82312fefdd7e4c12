"""Integration sessions: a therapist or clinician records one as booked or done for a dosing session."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, Field, model_validator

from hearth.contracts.primitives import IDENTIFIER_PATTERN, Identifier
from hearth.kit.app import RuntimeDep
from hearth.kit.auth import Principal, Role, require_roles
from hearth.kit.http_errors import ApiError, Command
from hearth.kit.vault import Vault

from .. import commands, store
from ..domain.integration import IntegrationCommand
from ..views import IntegrationView
from .common import ERRORS, run

SessionId = Annotated[str, Path(pattern=IDENTIFIER_PATTERN, description="Id of the dosing session")]


class RecordIntegration(Command):
    status: Literal["booked", "done"] = Field(description="booked: scheduled; done: it took place")
    integration_id: Identifier | None = Field(
        default=None,
        description="Id of the integration session (generated when absent; a done one keeps the booked one's id)",
    )
    scheduled_for: AwareDatetime | None = Field(default=None, description="When a booked integration will be")
    notes: str | None = Field(
        default=None, max_length=4000, description="Free text for the care team: stored here only, never emitted"
    )

    @model_validator(mode="after")
    def _scheduled_only_when_booked(self) -> Self:
        if self.scheduled_for is not None and self.status != "booked":
            raise ValueError("scheduled_for is only for a booked integration")
        return self


def router(vault: Vault) -> APIRouter:
    r = APIRouter(tags=["integration"])

    @r.post(
        "/sessions/{session_id}/integration",
        response_model=IntegrationView,
        responses=ERRORS,
        summary="Record an integration session as booked or done (cancels the pending reminders)",
    )
    async def record_integration(
        session_id: SessionId,
        body: RecordIntegration,
        request: Request,
        runtime: RuntimeDep,
        principal: Annotated[Principal, Depends(require_roles(Role.THERAPIST, Role.CLINICIAN))],
    ) -> JSONResponse:
        command = IntegrationCommand(
            status=body.status,
            integration_id=body.integration_id,
            actor=principal.subject,
            scheduled_for=body.scheduled_for,
            notes=body.notes,
        )
        return await run(
            request, runtime, principal, lambda tx: commands.record_integration(session_id, command, vault, tx)
        )

    @r.get(
        "/sessions/{session_id}/integration",
        response_model=IntegrationView,
        responses=ERRORS,
        summary="The integration window of a dosing session and what was booked or done",
    )
    async def integration_of(
        session_id: SessionId,
        runtime: RuntimeDep,
        _: Annotated[Principal, Depends(require_roles(Role.THERAPIST, Role.CLINICIAN, Role.OPS))],
    ) -> IntegrationView:
        async with runtime.pool.acquire() as conn:
            session = await store.find_session(conn, session_id)
        if session is None:
            raise ApiError(404, "not_found", f"session {session_id} is not known")
        return IntegrationView.of(session)

    return r
