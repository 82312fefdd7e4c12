"""The program's outcome figures for operations, next to the published reference figures."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from hearth.kit.app import RuntimeDep
from hearth.kit.auth import Principal, Role, require_roles

from .. import store
from ..domain import outcomes
from ..domain.outcomes import MeanReduction, Outcomes, Rate
from ..settings import FollowupSettings
from .common import ERRORS


class RateView(BaseModel):
    count: int = Field(description="Patients meeting the definition")
    of: int = Field(description="Patients it was assessed for")
    pct: float | None = Field(description="count / of in percent (null when no one was assessed)")
    reference_pct: float | None = Field(description="The published figure, where there is one")

    @classmethod
    def of_rate(cls, rate: Rate, reference: float | None = None) -> RateView:
        return cls(count=rate.count, of=rate.of, pct=rate.pct, reference_pct=reference)


class ReductionView(BaseModel):
    patients: int = Field(description="Patients with a baseline above 0 and a score near the mark")
    mean_reduction_pct: float | None = Field(description="Mean reduction from baseline in percent")
    reference_pct: float | None = Field(description="The published figure, where there is one")

    @classmethod
    def of_mean(cls, mean: MeanReduction, reference: float | None = None) -> ReductionView:
        return cls(patients=mean.patients, mean_reduction_pct=mean.mean_pct, reference_pct=reference)


class Definitions(BaseModel):
    course_sessions: int
    dropout_after_days: float
    mark_tolerance_days: float


class OutcomesView(BaseModel):
    as_of: datetime
    patients: int = Field(description="Patients follow-up knows of")
    with_baseline: int = Field(description="Patients with a screening baseline")
    started_treatment: int
    completed_course: int
    in_course: int = Field(description="Started, not finished and not dropped out: left out of the dropout rate")
    response: RateView = Field(description="Latest PHQ-9 at most half the baseline")
    remission: RateView = Field(description="Latest PHQ-9 below 5")
    phq9_reduction_week_4: ReductionView
    phq9_reduction_week_10: ReductionView
    gad7_reduction_week_4: ReductionView
    gad7_reduction_week_10: ReductionView
    improved_within_4_weeks: RateView
    dropout: RateView = Field(description="Dropped out of the settled patients (completed or dropped out)")
    definitions: Definitions

    @classmethod
    def of(cls, o: Outcomes, settings: FollowupSettings) -> OutcomesView:
        ref = settings.references()
        return cls(
            as_of=o.as_of,
            patients=o.patients,
            with_baseline=o.with_baseline,
            started_treatment=o.started,
            completed_course=o.completed_course,
            in_course=o.in_course,
            response=RateView.of_rate(o.response),
            remission=RateView.of_rate(o.remission),
            phq9_reduction_week_4=ReductionView.of_mean(o.phq9_reduction[4]),
            phq9_reduction_week_10=ReductionView.of_mean(o.phq9_reduction[10], ref.phq9_reduction_10w_pct),
            gad7_reduction_week_4=ReductionView.of_mean(o.gad7_reduction[4]),
            gad7_reduction_week_10=ReductionView.of_mean(o.gad7_reduction[10], ref.gad7_reduction_10w_pct),
            improved_within_4_weeks=RateView.of_rate(o.improved_within_4_weeks, ref.improved_4w_pct),
            dropout=RateView.of_rate(o.dropout, ref.dropout_pct),
            definitions=Definitions(
                course_sessions=settings.course_sessions,
                dropout_after_days=settings.dropout_after_days,
                mark_tolerance_days=settings.outcome_mark_tolerance_days,
            ),
        )


def router(settings: FollowupSettings) -> APIRouter:
    r = APIRouter(tags=["outcomes"])
    rules = settings.outcome_rules()

    @r.get(
        "/outcomes",
        response_model=OutcomesView,
        responses=ERRORS,
        summary="Response, remission, mean reduction at 4 and 10 weeks, dropout — next to the published figures",
    )
    async def program_outcomes(
        runtime: RuntimeDep, _: Annotated[Principal, Depends(require_roles(Role.OPS))]
    ) -> OutcomesView:
        async with runtime.pool.acquire() as conn:
            courses = await store.patient_courses(conn)
        return OutcomesView.of(outcomes.aggregate(courses, rules, runtime.clock.now()), settings)

    return r
