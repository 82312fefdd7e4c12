"""The rules file as a validated model, and the questions asked of it.  Pure: no I/O, no clock.

A `RuleBook` is one version of the file: the prescribing regimes with the days they cover, and the standing
limits (Schedule III, licensure, doses, blood pressure).  Effective dates are calendar days in the book's time
zone, so "the flexibilities end on 31 December 2026" means until 23:59:59 that day there.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints, field_validator, model_validator

RegimeId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]

# The bounds the event contracts and the databases hold doses to: a rules file may narrow them, never widen them.
CONTRACT_STARTING_MG = (100, 400)
CONTRACT_DOSE_MG = (100, 600)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Regime(_Section):
    """What a prescriber must have on record before approving, during a range of days."""

    id: RegimeId
    title: Text
    effective_from: date
    effective_until: date | None = Field(default=None, description="Inclusive; none: until a later regime")
    in_person_evaluation_required: bool
    special_registration_accepted: bool = False
    source: Text

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_until is None or day <= self.effective_until)


class ScheduleIII(_Section):
    fill_window_months: int = Field(ge=1, le=6)
    max_refills: int = Field(ge=0, le=5)
    source: Text

    def last_fill_day(self, issued_on: date) -> date:
        """The last day a prescription issued on `issued_on` may be filled or refilled (same day of the month,
        `fill_window_months` later; the month's last day when it has no such day)."""
        months = issued_on.month - 1 + self.fill_window_months
        year, month = issued_on.year + months // 12, months % 12 + 1
        return date(year, month, min(issued_on.day, calendar.monthrange(year, month)[1]))


class Licensure(_Section):
    # Not a switch: the file documents the rule and its source; a file that turns it off is refused.
    prescriber_licensed_in_patient_state: Literal[True]
    source: Text


class Doses(_Section):
    min_mg: int
    max_mg: int
    starting_min_mg: int
    starting_max_mg: int
    max_increase_per_change_mg: int = Field(ge=1)
    source: Text

    @model_validator(mode="after")
    def _ordered_within_contract(self) -> Self:
        low, high = CONTRACT_DOSE_MG
        start_low, start_high = CONTRACT_STARTING_MG
        if not low <= self.min_mg <= self.starting_min_mg <= self.starting_max_mg <= self.max_mg <= high:
            raise ValueError(f"doses must satisfy {low} <= min <= starting_min <= starting_max <= max <= {high}")
        if not (start_low <= self.starting_min_mg and self.starting_max_mg <= start_high):
            raise ValueError(f"the starting range must lie within {start_low}-{start_high} mg")
        return self


class BloodPressure(_Section):
    max_systolic_mmhg: int = Field(ge=60, le=250)
    max_diastolic_mmhg: int = Field(ge=30, le=150)
    borderline_margin_mmhg: int = Field(ge=0, le=40)
    source: Text


class RuleBook(_Section):
    version: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")]
    time_zone: str
    regimes: tuple[Regime, ...] = Field(min_length=1)
    schedule_iii: ScheduleIII
    licensure: Licensure
    dose: Doses
    blood_pressure: BloodPressure
    _digest: str = PrivateAttr(default="")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as America/New_York)") from None
        return value

    @field_validator("regimes")
    @classmethod
    def _contiguous(cls, regimes: tuple[Regime, ...]) -> tuple[Regime, ...]:
        """In date order, each starting the day after the previous one ends; only the last may be open-ended."""
        ordered = tuple(sorted(regimes, key=lambda r: r.effective_from))
        if len({r.id for r in ordered}) != len(ordered):
            raise ValueError("regime ids must be unique")
        for regime in ordered:
            if regime.effective_until is not None and regime.effective_until < regime.effective_from:
                raise ValueError(f"{regime.id}: effective_until is before effective_from")
        for before, after in pairwise(ordered):
            if before.effective_until is None:
                raise ValueError(f"{before.id} has no effective_until but {after.id} follows it")
            if after.effective_from != before.effective_until + timedelta(days=1):
                next_day = before.effective_until + timedelta(days=1)
                raise ValueError(
                    f"{after.id} must start the day after {before.id} ends ({next_day}):"
                    " regimes may neither overlap nor leave a gap"
                )
        return ordered

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def digest(self) -> str:
        """The first 12 hex digits of the file's SHA-256 (empty for a book not read from a file)."""
        return self._digest

    def with_digest(self, digest: str) -> RuleBook:
        book = self.model_copy()
        book._digest = digest
        return book

    def local_day(self, at: datetime) -> date:
        """The calendar day `at` (timezone-aware) falls on in the book's time zone."""
        if at.tzinfo is None:
            raise ValueError("a rule is looked up with a timezone-aware time")
        return at.astimezone(self.zone).date()

    def regime_on(self, day: date) -> Regime | None:
        return next((r for r in self.regimes if r.covers(day)), None)

    def regime_at(self, at: datetime) -> Regime | None:
        """The regime in force at `at`; none before the first regime starts or after a closed last one."""
        return self.regime_on(self.local_day(at))

    def stamp(self, regime: Regime | None) -> dict[str, str]:
        """What a decision records of the rules it was taken under (audit details)."""
        stamp = {"rules_version": self.version, "rules_digest": self.digest}
        return stamp | ({"regime": regime.id} if regime is not None else {})
