"""Properties of the screening over generated intakes: totals in range, bands consistent, monotone exclusions,
the safety flag always wins, and every result makes a valid `screened` event."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from hearth.contracts import ReasonCode
from hearth.contracts.events.screening import gad7_band, phq9_band
from hearth.screening.domain import (
    RULES,
    BloodPressure,
    Criteria,
    Effect,
    History,
    Intake,
    Payer,
    Trial,
    assess,
    screen,
)

CRITERIA = Criteria(served_states=frozenset({"CO", "CA", "NY"}))


unknowable = st.sampled_from([False, False, False, True, None])
history = st.builds(History, **{f.name: unknowable for f in dataclasses.fields(History)})
trials = st.lists(
    st.builds(Trial, drug=st.sampled_from(["sertraline", "bupropion", "escitalopram", "venlafaxine"]),
              adequate_dose=st.booleans(), weeks=st.integers(0, 20)),
    max_size=5,
).map(tuple)  # fmt: skip
blood_pressure = st.none() | st.builds(BloodPressure, systolic=st.integers(90, 180), diastolic=st.integers(50, 110))
intakes = st.builds(
    Intake,
    patient_id=st.just("pt-prop-0001"),
    age=st.integers(0, 100),
    state=st.sampled_from(["CO", "CA", "NY", "TX", "FL"]),
    phq9=st.lists(st.integers(0, 3), min_size=9, max_size=9).map(tuple),
    gad7=st.lists(st.integers(0, 3), min_size=7, max_size=7).map(tuple),
    trials=trials,
    history=history,
    medications=st.just(()),
    blood_pressure=blood_pressure,
    pregnant_or_breastfeeding=unknowable,
    substance_use_disorder=unknowable,
    support_person_present=st.booleans(),
    payer=st.just(Payer("self_pay")),
)

# Ways to add one exclusion to any intake.
ADD_EXCLUSION = [
    lambda i: dataclasses.replace(i, age=min(i.age, 17)),
    lambda i: dataclasses.replace(i, state="WY"),
    lambda i: dataclasses.replace(i, blood_pressure=BloodPressure(165, 100)),
    lambda i: dataclasses.replace(i, substance_use_disorder=True),
    lambda i: dataclasses.replace(i, pregnant_or_breastfeeding=True),
    lambda i: dataclasses.replace(i, trials=()),
    *[
        (lambda name: lambda i: dataclasses.replace(i, history=dataclasses.replace(i.history, **{name: True})))(f.name)
        for f in dataclasses.fields(History)
    ],
]


@settings(max_examples=300)
@given(intakes)
def test_totals_stay_in_range_and_bands_match(intake):
    result = screen(intake, CRITERIA)
    assert 0 <= result.phq9_total <= 27
    assert 0 <= result.gad7_total <= 21
    assert result.phq9_band == phq9_band(result.phq9_total)
    assert result.gad7_band == gad7_band(result.gad7_total)


@settings(max_examples=300)
@given(intakes, st.sampled_from(range(len(ADD_EXCLUSION))))
def test_adding_an_exclusion_never_makes_a_patient_eligible(intake, which):
    before = screen(intake, CRITERIA)
    after = screen(ADD_EXCLUSION[which](intake), CRITERIA)
    assert after.outcome != "eligible"
    assert after.exclusions
    if before.outcome == "ineligible":
        assert after.outcome == "ineligible"
    if after.safety_flag:
        assert after.outcome == "needs_review"


@settings(max_examples=300)
@given(intakes)
def test_outcome_follows_the_effects_of_the_rules(intake):
    result = screen(intake, CRITERIA)
    effects = {rule.effect for rule in RULES if rule.code in result.reasons}
    assert (result.outcome == "eligible") == (not result.reasons)
    if result.safety_flag:
        assert result.outcome == "needs_review"
        assert ReasonCode.SAFETY_FLAG_ITEM9 in result.reasons
    elif Effect.EXCLUDES in effects:
        assert result.outcome == "ineligible"
    elif effects:
        assert result.outcome == "needs_review"
    assert list(result.reasons) == [rule.code for rule in RULES if rule.code in result.reasons]


@settings(max_examples=200)
@given(intakes)
def test_every_result_makes_a_valid_screened_event(intake):
    assessment = assess(intake, CRITERIA, assessment_id="asm-prop", submitted_by="system", now=datetime.now(UTC))
    event = assessment.screened_event()  # raises ContractError if the contract's consistency rules disagree
    assert event.outcome == assessment.screening.outcome
