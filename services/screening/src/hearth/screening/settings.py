"""The screening service's configuration: the kit's `HEARTH_*` settings plus the clinical criteria.

Every clinical number of the brief is a default an operator can change here (e.g. `HEARTH_MIN_AGE=21`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, get_args

from pydantic import BeforeValidator, Field
from pydantic_settings import NoDecode

from hearth.contracts.primitives import UsState
from hearth.kit.settings import KitSettings

from .domain import Criteria

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
    bp_max_systolic: int = Field(
        default=140, ge=60, le=250, description="Systolic mmHg above which hypertension is uncontrolled"
    )
    bp_max_diastolic: int = Field(
        default=90, ge=30, le=150, description="Diastolic mmHg above which hypertension is uncontrolled"
    )
    bp_borderline_margin: int = Field(
        default=5,
        ge=0,
        le=40,
        description="A reading less than this many mmHg below a limit (with 5: systolic 136-140 or diastolic 86-90)"
        " sends the case to review (borderline_vitals); 0 turns the borderline band off",
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

    def criteria(self) -> Criteria:
        return Criteria(
            served_states=frozenset(self.served_states),
            min_age=self.min_age,
            bp_max_systolic=self.bp_max_systolic,
            bp_max_diastolic=self.bp_max_diastolic,
            bp_borderline_margin=self.bp_borderline_margin,
            trd_min_trials=self.trd_min_trials,
            trd_min_weeks=self.trd_min_weeks,
        )
