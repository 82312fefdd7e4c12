"""The screening rules at their boundaries: bands, every exclusion, item 9, TRD, blood pressure, age, state."""

from __future__ import annotations

import dataclasses

import pytest

from hearth.contracts import ReasonCode
from hearth.contracts.events.codes import DECISION_ONLY
from hearth.rules import DEFAULT_FILE, load
from hearth.screening.domain import RULES, BloodPressure, Criteria, Effect, Trial, screen
from hearth.screening.examples import answers, intake
from hearth.screening.settings import ScreeningSettings

CRITERIA = Criteria(served_states=frozenset({"CO", "CA", "NY"}))

R = ReasonCode


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
     (15, "moderately_severe"), (19, "moderately_severe"), (20, "severe"), (27, "severe")],
)  # fmt: skip
def test_phq9_band_boundaries(total, band):
    result = screen(intake(phq9=answers(total, 9, item9=0 if total <= 24 else 3)), CRITERIA)
    assert (result.phq9_total, result.phq9_band) == (total, band)


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
     (15, "severe"), (21, "severe")],
)  # fmt: skip
def test_gad7_band_boundaries(total, band):
    result = screen(intake(gad7=answers(total, 7)), CRITERIA)
    assert (result.gad7_total, result.gad7_band) == (total, band)


def test_the_baseline_is_eligible_with_no_reasons():
    result = screen(intake(), CRITERIA)
    assert (result.outcome, result.reasons, result.safety_flag) == ("eligible", (), False)


EXCLUSIONS = [
    ({"age": 17}, R.UNDER_18),
    ({"state": "TX"}, R.STATE_NOT_SERVED),
    ({"blood_pressure": BloodPressure(141, 90)}, R.UNCONTROLLED_HYPERTENSION),
    ({"heart_disease": True}, R.HEART_DISEASE),
    ({"psychosis_or_schizophrenia": True}, R.PSYCHOSIS_HISTORY),
    ({"mania": True}, R.MANIA_HISTORY),
    ({"substance_use_disorder": True}, R.SUBSTANCE_USE_DISORDER),
    ({"pregnant_or_breastfeeding": True}, R.PREGNANCY_OR_BREASTFEEDING),
    ({"severe_liver_disease": True}, R.SEVERE_LIVER_OR_KIDNEY_DISEASE),
    ({"severe_kidney_disease": True}, R.SEVERE_LIVER_OR_KIDNEY_DISEASE),
    ({"uncontrolled_seizures": True}, R.UNCONTROLLED_SEIZURES),
    ({"glaucoma": True}, R.GLAUCOMA_OR_INTRACRANIAL_PRESSURE),
    ({"raised_intracranial_pressure": True}, R.GLAUCOMA_OR_INTRACRANIAL_PRESSURE),
    ({"untreated_hyperthyroidism": True}, R.UNTREATED_HYPERTHYROIDISM),
    ({"bladder_disease": True}, R.BLADDER_DISEASE),
    ({"trials": (Trial("sertraline", True, 8),)}, R.NOT_TREATMENT_RESISTANT),
]


@pytest.mark.parametrize(("change", "code"), EXCLUSIONS, ids=[f"{c}-{next(iter(ch))}" for ch, c in EXCLUSIONS])
def test_each_exclusion_makes_the_patient_ineligible_with_its_code(change, code):
    result = screen(intake(**change), CRITERIA)
    assert (result.outcome, result.reasons) == ("ineligible", (code,))


def test_every_screening_code_of_the_contract_has_exactly_one_rule():
    codes = [rule.code for rule in RULES]
    assert len(codes) == len(set(codes))
    assert set(codes) == set(ReasonCode) - DECISION_ONLY


def test_all_reasons_are_listed_not_just_the_first():
    result = screen(intake(age=17, state="TX", mania=True, blood_pressure=None), CRITERIA)
    assert result.outcome == "ineligible"
    assert result.reasons == (R.UNDER_18, R.STATE_NOT_SERVED, R.MANIA_HISTORY, R.MISSING_VITALS)


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_item9_above_zero_sends_to_review_and_never_auto_rejects(item9):
    flagged = screen(intake(phq9=answers(16, 9, item9=item9)), CRITERIA)
    assert (flagged.outcome, flagged.reasons, flagged.safety_flag) == ("needs_review", (R.SAFETY_FLAG_ITEM9,), True)
    with_exclusions = screen(intake(phq9=answers(16, 9, item9=item9), age=17, mania=True), CRITERIA)
    assert with_exclusions.outcome == "needs_review"
    assert with_exclusions.reasons == (R.UNDER_18, R.MANIA_HISTORY, R.SAFETY_FLAG_ITEM9)
    assert with_exclusions.exclusions == (R.UNDER_18, R.MANIA_HISTORY)


def test_item9_zero_is_no_safety_flag():
    result = screen(intake(phq9=(3, 3, 3, 3, 3, 3, 3, 3, 0)), CRITERIA)
    assert (result.safety_flag, result.outcome, result.phq9_total) == (False, "eligible", 24)


def _trial_outcome(*trials: Trial) -> bool:
    return R.NOT_TREATMENT_RESISTANT in screen(intake(trials=trials), CRITERIA).reasons


def test_trd_needs_two_adequate_trials():
    assert _trial_outcome(Trial("sertraline", True, 8))
    assert not _trial_outcome(Trial("sertraline", True, 8), Trial("bupropion", True, 8))
    assert _trial_outcome()


def test_trd_counts_a_trial_from_six_weeks_not_five():
    assert _trial_outcome(Trial("sertraline", True, 8), Trial("bupropion", True, 5))
    assert not _trial_outcome(Trial("sertraline", True, 8), Trial("bupropion", True, 6))


def test_trd_ignores_trials_below_a_therapeutic_dose():
    assert _trial_outcome(Trial("sertraline", True, 8), Trial("bupropion", False, 12))


def test_trd_counts_one_drug_once():
    assert _trial_outcome(Trial("sertraline", True, 8), Trial(" Sertraline", True, 10))


@pytest.mark.parametrize(
    ("systolic", "diastolic", "outcome", "reasons"),
    [
        (140, 90, "needs_review", (R.BORDERLINE_VITALS,)),
        (141, 90, "ineligible", (R.UNCONTROLLED_HYPERTENSION,)),
        (140, 91, "ineligible", (R.UNCONTROLLED_HYPERTENSION,)),
        (136, 80, "needs_review", (R.BORDERLINE_VITALS,)),
        (120, 86, "needs_review", (R.BORDERLINE_VITALS,)),
        (135, 85, "eligible", ()),
    ],
)
def test_an_opt_in_borderline_band_of_5_sends_readings_near_140_over_90_to_review(
    systolic, diastolic, outcome, reasons
):
    criteria = dataclasses.replace(CRITERIA, bp_borderline_margin=5)
    result = screen(intake(blood_pressure=BloodPressure(systolic, diastolic)), criteria)
    assert (result.outcome, result.reasons) == (outcome, reasons)


@pytest.mark.parametrize(
    ("systolic", "diastolic", "outcome"),
    [(140, 90, "eligible"), (138, 88, "eligible"), (136, 86, "eligible"), (141, 90, "ineligible"),
     (140, 91, "ineligible")],
)  # fmt: skip
def test_by_default_only_the_published_rule_applies_above_140_over_90(systolic, diastolic, outcome):
    assert Criteria().bp_borderline_margin == 0
    assert screen(intake(blood_pressure=BloodPressure(systolic, diastolic)), CRITERIA).outcome == outcome


def test_the_default_criteria_come_from_the_rules_file_with_no_borderline_band():
    criteria = ScreeningSettings.model_construct().criteria(load(DEFAULT_FILE))
    assert (criteria.bp_max_systolic, criteria.bp_max_diastolic, criteria.bp_borderline_margin) == (140, 90, 0)
    opted_in = ScreeningSettings.model_construct(bp_borderline_margin=5).criteria(load(DEFAULT_FILE))
    assert opted_in.bp_borderline_margin == 5


def test_missing_vitals_send_to_review():
    result = screen(intake(blood_pressure=None), CRITERIA)
    assert (result.outcome, result.reasons) == ("needs_review", (R.MISSING_VITALS,))


@pytest.mark.parametrize(("age", "excluded"), [(17, True), (18, False), (0, True), (90, False)])
def test_age_limit_is_18(age, excluded):
    assert (R.UNDER_18 in screen(intake(age=age), CRITERIA).reasons) is excluded


def test_served_states_come_from_the_criteria():
    assert screen(intake(state="NY"), CRITERIA).outcome == "eligible"
    only_ny = dataclasses.replace(CRITERIA, served_states=frozenset({"NY"}))
    assert screen(intake(state="CO"), only_ny).reasons == (R.STATE_NOT_SERVED,)


@pytest.mark.parametrize(
    "change", [{"heart_disease": None}, {"bladder_disease": None}, {"pregnant_or_breastfeeding": None},
               {"substance_use_disorder": None}],
)  # fmt: skip
def test_an_unknown_answer_sends_to_review_without_excluding(change):
    result = screen(intake(**change), CRITERIA)
    assert (result.outcome, result.reasons) == ("needs_review", (R.MISSING_DATA,))


def test_exclusion_outranks_review_triggers():
    result = screen(intake(mania=True, heart_disease=None, blood_pressure=None), CRITERIA)
    assert (result.outcome, result.reasons) == ("ineligible", (R.MANIA_HISTORY, R.MISSING_VITALS, R.MISSING_DATA))


def test_rule_effects_are_the_documented_ones():
    effects = {rule.code: rule.effect for rule in RULES}
    assert effects[R.SAFETY_FLAG_ITEM9] is Effect.URGENT_REVIEW
    review = {R.BORDERLINE_VITALS, R.MISSING_VITALS, R.MISSING_DATA}
    assert {c for c, e in effects.items() if e is Effect.REVIEW} == review
    assert {c for c, e in effects.items() if e is Effect.EXCLUDES} == set(effects) - review - {R.SAFETY_FLAG_ITEM9}


def test_answers_out_of_range_are_refused():
    with pytest.raises(ValueError, match="phq9"):
        intake(phq9=(4, 0, 0, 0, 0, 0, 0, 0, 0))
    with pytest.raises(ValueError, match="gad7"):
        intake(gad7=(0, 0, 0))
