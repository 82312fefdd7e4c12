"""The HTTP API: validate, authorise, run a handler in an idempotent unit of work, render refusals."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from hearth.contracts.primitives import IDENTIFIER_PATTERN, PATIENT_ID_PATTERN
from hearth.kit.app import Runtime, RuntimeDep
from hearth.kit.auth import Principal, Role, require_roles
from hearth.kit.commands import run_command
from hearth.kit.http_errors import ApiError, ErrorBody, FieldError
from hearth.kit.tx import Tx
from hearth.kit.vault import Vault
from hearth.rules import Rules as RuleBooks

from . import handlers, views
from .bodies import RecordCheckIn, ReportAdverseEvent, SetNextDose, StartSession
from .domain import GateRefused, NoActiveApproval
from .schedule import SessionRefused
from .settings import SessionSettings
from .titration import DoseRefused, DoseRules
from .views import AdverseEventView, DoseHistory, PatientView, SessionView

SessionId = Annotated[str, Path(pattern=IDENTIFIER_PATTERN, description="Id of the session")]
PatientIdPath = Annotated[str, Path(pattern=PATIENT_ID_PATTERN, description="Pseudonymous patient id")]
Clinician = Annotated[Principal, Depends(require_roles(Role.CLINICIAN))]
Reader = Annotated[Principal, Depends(require_roles(Role.CLINICIAN, Role.OPS))]
PatientOrClinician = Annotated[Principal, Depends(require_roles(Role.PATIENT, Role.CLINICIAN))]

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 422)}


async def _run(
    request: Request, runtime: Runtime, principal: Principal, fn: Callable[[Tx], Awaitable[BaseModel]], status: int
) -> JSONResponse:
    """Run a command through the kit (Idempotency-Key honoured) and turn domain refusals into HTTP errors."""
    try:
        return await run_command(request, runtime.uow, principal.subject, fn, status_code=status)
    except GateRefused as refused:
        raise ApiError(
            409,
            "gate_refused",
            f"the session cannot start: {', '.join(refused.failed)}",
            details={"failed": refused.failed},
        ) from None
    except SessionRefused as refused:
        raise ApiError(422 if refused.code == "unknown_check_in" else 409, refused.code, refused.message) from None
    except handlers.SessionNotFound:
        raise ApiError(404, "session_not_found", "no session with this id") from None
    except NoActiveApproval:
        raise ApiError(409, "no_active_approval", "the patient has no active approval") from None


def _dose_refused(refused: DoseRefused, fields: dict[str, str]) -> ApiError:
    field = f"body.{fields.get(refused.field, refused.field)}"
    return ApiError(422, refused.code, refused.message, fields=[FieldError(field=field, message=refused.message)])


def router(settings: SessionSettings, books: RuleBooks, keys: Vault) -> APIRouter:
    api = APIRouter(tags=["sessions"], responses=_ERRORS)
    rules = settings.rules(books.current())  # check-in schedule and escalation: fixed at start-up

    @api.post(
        "/sessions",
        status_code=201,
        response_model=SessionView,
        summary="Start a session (every start condition must hold)",
    )
    async def start_session(
        body: StartSession, request: Request, runtime: RuntimeDep, principal: PatientOrClinician
    ) -> JSONResponse:
        if principal.role is Role.PATIENT and principal.subject != body.patient_id:
            raise ApiError(403, "forbidden", "a patient may start only their own session")
        if principal.role is Role.PATIENT and (body.dose_mg is not None or body.dose_justification is not None):
            raise ApiError(403, "dose_requires_clinician", "only a clinician may set the dose")
        session_id = f"ses-{uuid.uuid4().hex}"
        book = books.current()

        async def run(tx: Tx) -> SessionView:
            session = await handlers.start_session(
                tx,
                settings.rules(book),
                patient_id=body.patient_id,
                request=body.request(),
                actor=principal.subject,
                session_id=session_id,
                doses=DoseRules.of(book),
                keys=keys,
                dose_justification=body.dose_justification,
            )
            return SessionView.of(session)

        try:
            return await _run(request, runtime, principal, run, 201)
        except DoseRefused as refused:
            raise _dose_refused(refused, {"justification": "dose_justification"}) from None

    @api.get("/sessions/{session_id}", summary="A session and its check-ins")
    async def get_session(session_id: SessionId, runtime: RuntimeDep, principal: Reader) -> SessionView:
        async with runtime.pool.acquire() as conn:
            view = await views.read_session(conn, session_id, keys if principal.role is Role.CLINICIAN else None)
        if view is None:
            raise ApiError(404, "session_not_found", "no session with this id")
        return view

    @api.post(
        "/sessions/{session_id}/check-ins",
        status_code=201,
        response_model=SessionView,
        summary="Record a clinician check-in",
    )
    async def record_check_in(
        session_id: SessionId, body: RecordCheckIn, request: Request, runtime: RuntimeDep, principal: Clinician
    ) -> JSONResponse:
        async def run(tx: Tx) -> SessionView:
            session = await handlers.record_check_in(
                tx,
                rules,
                session_id=session_id,
                index=body.check_in_index,
                notes=body.notes,
                vitals=body.vitals.recorded() if body.vitals else None,
                actor=principal.subject,
                keys=keys,
            )
            return SessionView.of(session)

        return await _run(request, runtime, principal, run, 201)

    @api.post(
        "/sessions/{session_id}/close",
        response_model=SessionView,
        summary="Close a session (remaining check-ins are cancelled)",
    )
    async def close_session(
        session_id: SessionId, request: Request, runtime: RuntimeDep, principal: Clinician
    ) -> JSONResponse:
        async def run(tx: Tx) -> SessionView:
            return SessionView.of(
                await handlers.close_session(tx, rules, session_id=session_id, actor=principal.subject)
            )

        return await _run(request, runtime, principal, run, 200)

    @api.post(
        "/sessions/{session_id}/adverse-events",
        status_code=201,
        response_model=AdverseEventView,
        summary="Record an adverse event (published without its notes)",
    )
    async def report_adverse_event(
        session_id: SessionId,
        body: ReportAdverseEvent,
        request: Request,
        runtime: RuntimeDep,
        principal: Clinician,
    ) -> JSONResponse:
        adverse_event_id = f"ae-{uuid.uuid4().hex}"

        async def run(tx: Tx) -> AdverseEventView:
            reported = await handlers.report_adverse_event(
                tx,
                rules,
                session_id=session_id,
                adverse_event_id=adverse_event_id,
                kind=body.kind,
                severity=body.severity,
                occurred_at=body.occurred_at,
                notes=body.notes,
                actor=principal.subject,
                keys=keys,
            )
            return AdverseEventView.model_validate(reported.model_dump())

        return await _run(request, runtime, principal, run, 201)

    @api.get("/patients/{patient_id}", tags=["patients"], summary="The patient as the session service sees it")
    async def get_patient(patient_id: PatientIdPath, runtime: RuntimeDep, principal: Reader) -> PatientView:
        async with runtime.pool.acquire() as conn:
            view = await views.read_patient(conn, patient_id, rules)
        if view is None:
            raise ApiError(404, "patient_not_found", "no events or sessions for this patient")
        return view

    @api.post(
        "/patients/{patient_id}/next-dose",
        tags=["patients"],
        response_model=PatientView,
        summary="Set the dose of the sessions to come under the active approval",
    )
    async def set_next_dose(
        patient_id: PatientIdPath, body: SetNextDose, request: Request, runtime: RuntimeDep, principal: Clinician
    ) -> JSONResponse:
        doses = DoseRules.of(books.current())

        async def run(tx: Tx) -> PatientView:
            patient = await handlers.set_next_dose(
                tx,
                patient_id=patient_id,
                dose_mg=body.dose_mg,
                actor=principal.subject,
                doses=doses,
                keys=keys,
                justification=body.justification,
            )
            return PatientView.of(patient, rules)

        try:
            return await _run(request, runtime, principal, run, 200)
        except DoseRefused as refused:
            raise _dose_refused(refused, {}) from None

    @api.get("/patients/{patient_id}/doses", tags=["patients"], summary="The patient's dose history")
    async def dose_history(patient_id: PatientIdPath, runtime: RuntimeDep, principal: Reader) -> DoseHistory:
        """Starting doses (approvals), every change with who, when and why, and the dose of every session;
        justifications are shown to clinicians only."""
        async with runtime.pool.acquire() as conn:
            view = await views.read_dose_history(conn, patient_id, keys if principal.role is Role.CLINICIAN else None)
        if view is None:
            raise ApiError(404, "patient_not_found", "no events or sessions for this patient")
        return view

    return api
