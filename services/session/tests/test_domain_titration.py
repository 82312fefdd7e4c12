"""Titration: a dose change is held to the rules file's limits; an increase above the maximum step per change
needs a prescriber's written justification; a decrease never does. Every change is a record for the history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hearth.rules import DEFAULT_FILE, load
from hearth.session.domain import NoActiveApproval, Patient
from hearth.session.titration import DoseRefused, DoseRules, change_dose

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
RULES = DoseRules.of(load(DEFAULT_FILE))


def patient(start_mg: int = 200) -> Patient:
    return Patient("pt-1").with_approved(
        "apr-1", plan="extended", dose_count=24, starting_dose_mg=start_mg, at=NOW - timedelta(days=3)
    )


def test_the_limits_come_from_the_rules_file():
    assert (RULES.min_mg, RULES.max_mg, RULES.max_increase_mg) == (100, 600, 100)
    assert RULES.rules_version == load(DEFAULT_FILE).version


def test_200_to_600_in_one_step_without_justification_is_refused():
    with pytest.raises(DoseRefused) as refused:
        change_dose(patient(200), 600, RULES, justification=None, by="clin-1", at=NOW)
    assert (refused.value.code, refused.value.field) == ("justification_required", "justification")
    assert "400 mg" in refused.value.message and "100 mg" in refused.value.message


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_a_blank_justification_is_no_justification(blank):
    with pytest.raises(DoseRefused):
        change_dose(patient(200), 400, RULES, justification=blank, by="clin-1", at=NOW)


@pytest.mark.parametrize(("to_mg", "above"), [(300, False), (301, True), (600, True), (100, False)])
def test_a_step_up_to_the_maximum_or_any_step_down_needs_no_justification(to_mg, above):
    if above:
        with pytest.raises(DoseRefused):
            change_dose(patient(200), to_mg, RULES, justification=None, by="clin-1", at=NOW)
    p, change = change_dose(patient(200), to_mg, RULES, justification=None if not above else "x", by="clin-1", at=NOW)
    assert p.active_approval.current_dose_mg == to_mg
    assert change is not None
    assert (change.from_mg, change.to_mg, change.above_step, change.changed_by) == (200, to_mg, above, "clin-1")


def test_with_a_justification_a_larger_increase_is_recorded_as_above_the_step():
    p, change = change_dose(patient(200), 600, RULES, justification="No response at 400 mg x2", by="clin-1", at=NOW)
    assert (change.above_step, change.justification, change.rules_version) == (
        True,
        "No response at 400 mg x2",
        RULES.rules_version,
    )
    # The step is measured from the current dose, not the starting dose.
    p, nxt = change_dose(p, 500, RULES, justification=None, by="clin-1", at=NOW)
    assert (nxt.from_mg, nxt.above_step) == (600, False)


@pytest.mark.parametrize("dose", [99, 601, 0])
def test_outside_the_limits_is_refused_whatever_the_justification(dose):
    with pytest.raises(DoseRefused) as refused:
        change_dose(patient(), dose, RULES, justification="because", by="clin-1", at=NOW)
    assert (refused.value.code, refused.value.field) == ("dose_out_of_range", "dose_mg")


def test_the_same_dose_is_no_change_and_no_approval_is_refused():
    same, change = change_dose(patient(200), 200, RULES, justification=None, by="clin-1", at=NOW)
    assert change is None and same == patient(200)
    with pytest.raises(NoActiveApproval):
        change_dose(Patient("pt-2"), 200, RULES, justification=None, by="clin-1", at=NOW)
