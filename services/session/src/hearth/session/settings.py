"""Configuration of the session service: `HEARTH_*` environment variables (the kit's plus these)."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import Self

from pydantic import Field, model_validator

from hearth.kit.settings import KitSettings
from hearth.rules import RuleBook

from .domain import Rules
from .schedule import Escalation


class SessionSettings(KitSettings):
    check_in_offsets_seconds: tuple[float, ...] = Field(
        default=(0, 1200, 2400, 3600, 5400, 7200),
        min_length=1,
        max_length=24,
        description="Clinician check-in times after the session start, in seconds, increasing (JSON list; "
        "default 0, 20, 40, 60, 90 and 120 minutes)",
    )
    check_in_grace_seconds: float = Field(
        default=300, ge=0, description="A check-in not recorded this long after its time is missed (5 min)"
    )
    auto_close_after_seconds: float = Field(
        default=300,
        ge=0,
        description="A session still open this long after its last check-in time is closed automatically",
    )
    rules_file: str | None = Field(
        default=None,
        description="Path of the clinical rules file (TOML); unset: the file shipped with the service. Dose limits,"
        " the maximum step per change and the blood-pressure limits come from it; re-read when it changes",
    )
    blood_pressure_max_systolic: int | None = Field(
        default=None, description="Highest systolic reading that may start; unset: the rules file's (140)"
    )
    blood_pressure_max_diastolic: int | None = Field(
        default=None, description="Highest diastolic reading that may start; unset: the rules file's (90)"
    )
    blood_pressure_max_age_minutes: float = Field(
        default=30, gt=0, description="A blood pressure reading older than this is stale"
    )
    clock_skew_seconds: float = Field(
        default=300,
        ge=0,
        description="How far in the future a client-supplied time (a reading's taken_at, an "
        "adverse event's occurred_at) may lie: device clock skew",
    )
    min_session_interval_hours: float = Field(
        default=48, ge=0, description="Least time between the starts of two sessions of one patient"
    )
    dose_finding_sessions: int = Field(
        default=2, ge=0, description="How many first sessions under an approval are dose-finding"
    )
    escalate_support_person_at: int = Field(
        default=2, ge=1, description="Consecutive misses from which the level is 2 (contact the support person)"
    )
    escalate_emergency_at: int = Field(
        default=3, ge=1, description="Consecutive misses from which the level is 3 (emergency protocol)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        offsets = self.check_in_offsets_seconds
        if any(o < 0 for o in offsets) or any(b <= a for a, b in pairwise(offsets)):
            raise ValueError("check_in_offsets_seconds must be non-negative and strictly increasing")
        if self.escalate_emergency_at < self.escalate_support_person_at:
            raise ValueError("escalate_emergency_at must not be below escalate_support_person_at")
        return self

    def rules(self, book: RuleBook) -> Rules:
        """The clinical rules as the pure domain takes them (blood pressure: the setting, else the rules file)."""
        bp = book.blood_pressure
        systolic, diastolic = self.blood_pressure_max_systolic, self.blood_pressure_max_diastolic
        return Rules(
            check_in_offsets=tuple(timedelta(seconds=s) for s in self.check_in_offsets_seconds),
            check_in_grace=timedelta(seconds=self.check_in_grace_seconds),
            auto_close_after=timedelta(seconds=self.auto_close_after_seconds),
            max_systolic=bp.max_systolic_mmhg if systolic is None else systolic,
            max_diastolic=bp.max_diastolic_mmhg if diastolic is None else diastolic,
            bp_max_age=timedelta(minutes=self.blood_pressure_max_age_minutes),
            clock_skew=timedelta(seconds=self.clock_skew_seconds),
            min_interval=timedelta(hours=self.min_session_interval_hours),
            dose_finding_sessions=self.dose_finding_sessions,
            escalation=Escalation(self.escalate_support_person_at, self.escalate_emergency_at),
        )
