"""HTTP routes: validate, check who may do it, run the handler as an idempotent command."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from hearth.contracts.primitives import IDENTIFIER_PATTERN
from hearth.kit import audit, telemetry
from hearth.kit.app import RuntimeDep
from hearth.kit.auth import Principal, Role, require_roles
from hearth.kit.commands import run_command
from hearth.kit.http_errors import ApiError, ErrorBody, FieldError
from hearth.kit.tx import Tx
from hearth.kit.vault import Vault
from hearth.rules import Rules

from . import handlers, sealing, store
from .bodies import ApproveBody, DeclineBody, IntakeBody, RevokeBody
from .decisions import DecisionRefused
from .settings import ScreeningSettings
from .views import AssessmentSummary, AssessmentView, AuditEntry, AuditTrail, DecisionView

Id = Annotated[str, Path(pattern=IDENTIFIER_PATTERN, description="An id as returned by this API")]
DecisionBody = Annotated[ApproveBody | DeclineBody, Body(discriminator="decision")]
Intaker = Annotated[Principal, Depends(require_roles(Role.PATIENT, Role.SYSTEM))]
Clinician = Annotated[Principal, Depends(require_roles(Role.CLINICIAN))]
Reader = Annotated[Principal, Depends(require_roles(Role.CLINICIAN, Role.OPS))]
Ops = Annotated[Principal, Depends(require_roles(Role.OPS))]
_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422)}


def _refusal(refused: DecisionRefused) -> ApiError:
    codes = [f.code for f in refused.failures]
    details: dict[str, Any] = {"failed": codes}
    if refused.current is not None:
        # Free text (justification, notes) stays out of error bodies; GET /assessments/{id} shows it.
        free_text: Any = {"justification": True, "note": True, "revocation": {"note"}}
        details["current_decision"] = DecisionView.of(refused.current).model_dump(mode="json", exclude=free_text)
    return ApiError(
        409 if refused.conflict else 422,
        codes[0] if len(codes) == 1 else "decision_refused",
        "; ".join(f.message for f in refused.failures),
        fields=[FieldError(field=f"body.{f.field}", message=f.message) for f in refused.failures if f.field],
        details=details,
    )


async def _command(
    request: Request, runtime: RuntimeDep, principal: Principal, fn: Callable[[Tx], Awaitable[BaseModel]], status: int
) -> JSONResponse:
    try:
        return await run_command(request, runtime.uow, principal.subject, fn, status_code=status)
    except DecisionRefused as refused:
        raise _refusal(refused) from None


def _must_be_caller(principal: Principal, value: str, field: str, what: str) -> None:
    if value != principal.subject:
        message = f"{field} must be the caller's own id: {what}"
        raise ApiError(403, f"{field}_not_caller", message, fields=[FieldError(field=f"body.{field}", message=message)])


def router(settings: ScreeningSettings, rules: Rules, keys: Vault) -> APIRouter:
    api = APIRouter(tags=["screening"], responses=_ERRORS)

    @api.post("/intakes", status_code=201, response_model=AssessmentSummary, summary="Submit an intake")
    async def submit_intake(body: IntakeBody, request: Request, runtime: RuntimeDep, who: Intaker) -> JSONResponse:
        """Scores the intake, checks every rule and answers with the outcome; emits `screened`.
        Idempotent with an `Idempotency-Key` header. A patient may only submit their own intake."""
        if who.role is Role.PATIENT:
            _must_be_caller(who, body.patient_id, "patient_id", "a patient submits only their own intake")
        intake, book = body.to_intake(), rules.current()
        criteria, policy = settings.criteria(book), settings.safety_policy()
        return await _command(
            request,
            runtime,
            who,
            lambda tx: handlers.submit_intake(intake, criteria, book, policy, who.subject, keys, tx),
            201,
        )

    @api.get("/assessments/{assessment_id}", response_model=AssessmentView, summary="Read an assessment")
    async def read_assessment(assessment_id: Id, runtime: RuntimeDep, who: Reader) -> AssessmentView:
        async with runtime.pool.acquire() as conn:
            assessment = await store.load_assessment(conn, assessment_id)
            if assessment is None:
                raise ApiError(404, "assessment_not_found", "no assessment with this id")
            decision = await sealing.open_decision(conn, keys, await store.load_decision(conn, assessment_id))
            return AssessmentView.with_decision(await sealing.open_assessment(conn, keys, assessment), decision)

    @api.post("/assessments/{assessment_id}/decision", status_code=201, response_model=DecisionView, summary="Decide")
    async def decide(
        assessment_id: Id, body: DecisionBody, request: Request, runtime: RuntimeDep, who: Clinician
    ) -> JSONResponse:
        """Approve (plan, starting dose, licence state; a justification for a needs_review screening) or
        decline (a reason code); emits `approved` or `declined`. One decision per assessment."""
        _must_be_caller(who, body.prescriber_id, "prescriber_id", "prescribers decide in their own name")
        if telemetry.current_tracer() is not None:  # the decision's trace links to the intake's
            async with runtime.pool.acquire() as conn:
                telemetry.link_to(await store.intake_traceparent(conn, assessment_id))
        book = rules.current()
        if isinstance(body, ApproveBody):
            approve = body.request()
            return await _command(
                request,
                runtime,
                who,
                lambda tx: handlers.approve(assessment_id, approve, book, who.subject, keys, tx),
                201,
            )
        decline = body.request()
        return await _command(
            request, runtime, who, lambda tx: handlers.decline(assessment_id, decline, book, who.subject, keys, tx), 201
        )

    @api.post("/approvals/{approval_id}/revoke", response_model=DecisionView, summary="Revoke an approval")
    async def revoke(
        approval_id: Id, body: RevokeBody, request: Request, runtime: RuntimeDep, who: Clinician
    ) -> JSONResponse:
        """Withdraws an active approval; emits `approval-revoked`."""
        _must_be_caller(who, body.prescriber_id, "prescriber_id", "prescribers revoke in their own name")
        revoke = body.request()
        return await _command(
            request, runtime, who, lambda tx: handlers.revoke(approval_id, revoke, who.subject, keys, tx), 200
        )

    @api.get("/assessments/{assessment_id}/audit", response_model=AuditTrail, summary="Audit trail")
    async def read_audit(assessment_id: Id, runtime: RuntimeDep, who: Ops) -> AuditTrail:
        async with runtime.pool.acquire() as conn:
            if await store.load_assessment(conn, assessment_id) is None:
                raise ApiError(404, "assessment_not_found", "no assessment with this id")
            entries = await audit.entries(conn, handlers.entity(assessment_id))
        return AuditTrail(assessment_id=assessment_id, entries=[AuditEntry(**e) for e in entries])

    return api
