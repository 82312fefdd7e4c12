"""The screening service's configuration: the kit's `HEARTH_*` settings plus the clinical criteria.

Every clinical number of the brief is a default an operator can change here (e.g. `HEARTH_MIN_AGE=21`). The
blood-pressure limits, dose limits and prescribing regimes come from the dated rules file (`HEARTH_RULES_FILE`);
the `HEARTH_BP_*` variables, when set, override the file's blood-pressure numbers.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any, get_args

from pydantic import BeforeValidator, Field
from pydantic_settings import NoDecode

from hearth.contracts.primitives import UsState
from hearth.kit.settings import KitSettings
from hearth.rules import RuleBook

from .domain import Criteria
from .safety import SafetyPolicy

ALL_STATES: tuple[UsState, ...] = get_args(UsState)


def _state_list(value: Any) -> Any:
    """`HEARTH_SERVED_STATES` as a JSON list (`["CO","CA"]`) or comma-separated (`CO,CA`)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip().upper() for part in text.split(",") if part.strip()]
    return value


class ScreeningSettings(KitSettings):
    served_states: Annotated[tuple[UsState, ...], NoDecode, BeforeValidator(_state_list)] = Field(
        default=ALL_STATES,
        description="US states (USPS codes) the service treats patients in, as a JSON list or"
        " comma-separated; an intake from any other state is ineligible (state_not_served)."
        " Default: all 50 states and DC — narrow it to the states with licensed prescribers.",
    )
    min_age: int = Field(default=18, ge=0, le=130, description="Youngest eligible age in years (under_18)")
    rules_file: str | None = Field(
        default=None,
        description="Path of the clinical rules file (TOML); unset: the file shipped with the service."
        " Re-read when it changes; a changed file that fails validation is refused and the last good one stays.",
    )
    bp_max_systolic: int | None = Field(
        default=None,
        ge=60,
        le=250,
        description="Systolic mmHg above which hypertension is uncontrolled; unset: the rules file's (140)",
    )
    bp_max_diastolic: int | None = Field(
        default=None,
        ge=30,
        le=150,
        description="Diastolic mmHg above which hypertension is uncontrolled; unset: the rules file's (90)",
    )
    bp_borderline_margin: int | None = Field(
        default=None,
        ge=0,
        le=40,
        description="Opt-in: a reading less than this many mmHg below a limit (with 5: systolic 136-140 or"
        " diastolic 86-90) sends the case to review (borderline_vitals); unset: the rules file's (0, off)",
    )
    safety_acknowledge_within_minutes: float = Field(
        default=60,
        gt=0,
        le=24 * 60,
        description="A safety item (PHQ-9 item 9 above 0 at intake) must be acknowledged by a clinician within this"
        " many minutes; past it the item escalates to level 1 and safety-review-overdue is emitted",
    )
    safety_escalate_every_minutes: float = Field(
        default=30,
        gt=0,
        le=24 * 60,
        description="Still unacknowledged this many minutes after an escalation, the item escalates again (to level"
        " 2, then 3, the last)",
    )
    trd_min_trials: int = Field(
        default=2,
        ge=1,
        le=10,
        description="Adequate antidepressant trials (distinct drugs) needed for treatment resistance",
    )
    trd_min_weeks: int = Field(
        default=6, ge=1, le=52, description="Weeks at a therapeutic dose for a trial to count as adequate"
    )

    def criteria(self, rules: RuleBook) -> Criteria:
        bp = rules.blood_pressure
        return Criteria(
            served_states=frozenset(self.served_states),
            min_age=self.min_age,
            bp_max_systolic=_first(self.bp_max_systolic, bp.max_systolic_mmhg),
            bp_max_diastolic=_first(self.bp_max_diastolic, bp.max_diastolic_mmhg),
            bp_borderline_margin=_first(self.bp_borderline_margin, bp.borderline_margin_mmhg),
            trd_min_trials=self.trd_min_trials,
            trd_min_weeks=self.trd_min_weeks,
        )

    def safety_policy(self) -> SafetyPolicy:
        return SafetyPolicy(
            acknowledge_within=timedelta(minutes=self.safety_acknowledge_within_minutes),
            escalate_every=timedelta(minutes=self.safety_escalate_every_minutes),
        )


def _first(setting: int | None, from_rules: int) -> int:
    return from_rules if setting is None else setting
