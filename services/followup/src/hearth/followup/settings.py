"""Configuration of the follow-up service: `HEARTH_*` environment variables (the kit's, plus these)."""

from __future__ import annotations

from datetime import timedelta
from typing import Self

from pydantic import Field, model_validator

from hearth.kit.settings import KitSettings

from .domain.integration import WindowPolicy
from .domain.outcomes import OutcomeRules, References


class FollowupSettings(KitSettings):
    integration_opens_after_seconds: float = Field(
        default=24 * 3600,
        gt=0,
        description="Integration window opens this long after a session ends; integration-due is emitted then",
    )
    integration_closes_after_seconds: float = Field(
        default=72 * 3600,
        gt=0,
        description="Integration window closes this long after a session ends; integration-overdue then",
    )
    dose_review_after_seconds: float = Field(
        default=28 * 24 * 3600, gt=0, description="Dose review is due this long after the first session starts"
    )
    course_sessions: int = Field(default=6, ge=1, description="Sessions in the initial course (for dropout)")
    dropout_after_days: float = Field(
        default=30, gt=0, description="No session for this long before the course is finished counts as dropout"
    )
    outcome_mark_tolerance_days: float = Field(
        default=7,
        ge=0,
        description="A measurement counts for the 4- and 10-week marks when taken within this many days of it",
    )
    reference_phq9_reduction_10w_pct: float = Field(
        default=69.0, description="Published mean PHQ-9 (depression) reduction at 10 weeks, percent"
    )
    reference_gad7_reduction_10w_pct: float = Field(
        default=60.0, description="Published mean GAD-7 (anxiety) reduction at 10 weeks, percent"
    )
    reference_improved_4w_pct: float = Field(
        default=87.0, description="Published share of patients improved within 4 weeks, percent"
    )
    reference_dropout_pct: float = Field(default=26.7, description="Published oral at-home dropout, percent")

    @model_validator(mode="after")
    def _window_closes_after_it_opens(self) -> Self:
        if self.integration_closes_after_seconds <= self.integration_opens_after_seconds:
            raise ValueError("integration_closes_after_seconds must be greater than integration_opens_after_seconds")
        return self

    def window_policy(self) -> WindowPolicy:
        return WindowPolicy(
            opens_after=timedelta(seconds=self.integration_opens_after_seconds),
            closes_after=timedelta(seconds=self.integration_closes_after_seconds),
        )

    def dose_review_after(self) -> timedelta:
        return timedelta(seconds=self.dose_review_after_seconds)

    def outcome_rules(self) -> OutcomeRules:
        return OutcomeRules(
            course_sessions=self.course_sessions,
            dropout_after=timedelta(days=self.dropout_after_days),
            mark_tolerance=timedelta(days=self.outcome_mark_tolerance_days),
        )

    def references(self) -> References:
        return References(
            phq9_reduction_10w_pct=self.reference_phq9_reduction_10w_pct,
            gad7_reduction_10w_pct=self.reference_gad7_reduction_10w_pct,
            improved_4w_pct=self.reference_improved_4w_pct,
            dropout_pct=self.reference_dropout_pct,
        )
