"""Mood tracking: patients submit PHQ-9 / GAD-7 answers; the care team reads the trajectory."""

from __future__ import annotations

from typing import Annotated, Self

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import Field, model_validator

from hearth.contracts.primitives import PATIENT_ID_PATTERN, StrictInt
from hearth.kit.app import RuntimeDep
from hearth.kit.auth import Principal, Role, require_roles
from hearth.kit.http_errors import ApiError, Command

from .. import commands, store
from ..views import MeasurementView, MoodView
from .common import ERRORS, require_own_record, run

PatientIdPath = Annotated[str, Path(pattern=PATIENT_ID_PATTERN, description="Pseudonymous patient id")]
Answer = Annotated[StrictInt, Field(ge=0, le=3)]


class SubmitMood(Command):
    phq9: list[Answer] | None = Field(
        default=None, min_length=9, max_length=9, description="PHQ-9 answers, items 1-9 in order, each 0-3"
    )
    gad7: list[Answer] | None = Field(
        default=None, min_length=7, max_length=7, description="GAD-7 answers, items 1-7 in order, each 0-3"
    )

    @model_validator(mode="after")
    def _some_answers(self) -> Self:
        if self.phq9 is None and self.gad7 is None:
            raise ValueError("give phq9 or gad7 answers (or both)")
        return self


def router() -> APIRouter:
    r = APIRouter(tags=["mood"])

    @r.post(
        "/patients/{patient_id}/mood",
        response_model=MeasurementView,
        status_code=201,
        responses=ERRORS,
        summary="Submit PHQ-9 and/or GAD-7 answers (a self-harm answer above 0 raises an urgent item)",
    )
    async def submit(
        patient_id: PatientIdPath,
        body: SubmitMood,
        request: Request,
        runtime: RuntimeDep,
        principal: Annotated[Principal, Depends(require_roles(Role.PATIENT))],
    ) -> JSONResponse:
        require_own_record(principal, patient_id)
        phq9 = tuple(body.phq9) if body.phq9 is not None else None
        gad7 = tuple(body.gad7) if body.gad7 is not None else None
        return await run(
            request,
            runtime,
            principal,
            lambda tx: commands.submit_mood(patient_id, phq9, gad7, principal.subject, tx),
            status_code=201,
        )

    @r.get(
        "/patients/{patient_id}/mood",
        response_model=MoodView,
        responses=ERRORS,
        summary="Mood trajectory against the screening baseline: percent change, response, remission",
    )
    async def trajectory(
        patient_id: PatientIdPath,
        runtime: RuntimeDep,
        principal: Annotated[Principal, Depends(require_roles(Role.CLINICIAN, Role.OPS, Role.PATIENT))],
    ) -> MoodView:
        require_own_record(principal, patient_id)
        async with runtime.pool.acquire() as conn:
            patient = await store.find_patient(conn, patient_id)
            measured = await store.measurements(conn, patient_id) if patient is not None else []
        if patient is None:
            raise ApiError(404, "not_found", f"patient {patient_id} is not known")
        return MoodView.of(patient, measured)

    return r
