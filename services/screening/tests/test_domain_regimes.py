"""Approvals under the dated prescribing rules, with a controllable clock on both sides of the end of the
telemedicine flexibilities (2026-12-31, in the rules file's time zone): which regime applied and which rule
version are recorded on the decision and in the approved event."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from hearth.rules import DEFAULT_FILE, load, parse
from hearth.screening.decisions import ApproveRequest, DecisionRefused, DeclineRequest, approve, decline
from hearth.screening.domain import Criteria, assess
from hearth.screening.examples import intake

RULES = load(DEFAULT_FILE)
ZONE = ZoneInfo(RULES.time_zone)
CRITERIA = Criteria(served_states=frozenset({"CO", "CA", "NY"}))
LAST_MINUTE = datetime(2026, 12, 31, 23, 59, tzinfo=ZONE)
NEW_YEAR = datetime(2027, 1, 1, 0, 0, tzinfo=ZONE)


def assessment():
    return assess(intake(), CRITERIA, assessment_id="asm-1", submitted_by="pt-1", now=datetime(2026, 12, 1, tzinfo=UTC))


def request(**changes) -> ApproveRequest:
    values = {
        "plan": "foundation",
        "starting_dose_mg": 200,
        "prescriber_id": "clin-1",
        "prescriber_license_state": "CO",
    }
    return ApproveRequest(**(values | changes))


def approved_at(now: datetime, rules=RULES, **changes):
    return approve(assessment(), None, request(**changes), decision_id="apr-1", now=now, rules=rules)


def refused_at(now: datetime, rules=RULES, **changes) -> DecisionRefused:
    with pytest.raises(DecisionRefused) as caught:
        approved_at(now, rules, **changes)
    return caught.value


def test_at_2359_on_31_december_the_flexibilities_allow_an_approval_without_an_in_person_evaluation():
    approval = approved_at(LAST_MINUTE)
    event = approval.approved_event()
    assert (event.regime, event.rules_version) == ("telemedicine_flexibility", RULES.version)
    assert (approval.regime, approval.rules_version, approval.rules_digest) == (
        "telemedicine_flexibility", RULES.version, RULES.digest,
    )  # fmt: skip


def test_on_1_january_2027_an_approval_without_an_in_person_evaluation_is_refused():
    refused = refused_at(NEW_YEAR)
    assert not refused.conflict
    failures = [(f.code, f.field) for f in refused.failures]
    assert failures == [("in_person_evaluation_required", "in_person_evaluation_on")]
    assert "ryan_haight_in_person" in refused.failures[0].message
    assert "special registration" in refused.failures[0].message


def test_utc_midnight_is_still_the_old_year_in_the_rules_files_zone():
    assert approved_at(datetime(2027, 1, 1, 4, 59, tzinfo=UTC)).regime == "telemedicine_flexibility"
    assert refused_at(datetime(2027, 1, 1, 5, 0, tzinfo=UTC)).failures[0].code == "in_person_evaluation_required"


def test_from_2027_a_recorded_in_person_evaluation_or_a_special_registration_allows_the_approval():
    evaluated = approved_at(NEW_YEAR, in_person_evaluation_on=date(2026, 12, 20))
    assert (evaluated.regime, evaluated.in_person_evaluation_on) == ("ryan_haight_in_person", date(2026, 12, 20))
    registered = approved_at(NEW_YEAR, special_registration="TSR-0042")
    assert (registered.regime, registered.special_registration) == ("ryan_haight_in_person", "TSR-0042")
    assert registered.approved_event().regime == "ryan_haight_in_person"


def test_an_in_person_evaluation_dated_in_the_future_is_refused():
    refused = refused_at(NEW_YEAR, in_person_evaluation_on=date(2027, 1, 2))
    assert [f.code for f in refused.failures] == ["in_person_evaluation_in_future"]


def test_a_regime_that_does_not_accept_special_registrations_needs_the_evaluation():
    text = DEFAULT_FILE.read_bytes()
    strict = parse(text.replace(b"special_registration_accepted = true", b"special_registration_accepted = false"))
    refused = refused_at(NEW_YEAR, strict, special_registration="TSR-0042")
    assert [f.code for f in refused.failures] == ["in_person_evaluation_required"]
    assert "special registration" not in refused.failures[0].message


def test_no_regime_in_force_refuses_every_approval():
    refused = refused_at(datetime(2023, 5, 11, 12, tzinfo=ZONE))
    assert refused.conflict
    assert [f.code for f in refused.failures] == ["no_regime_in_force"]


def test_the_starting_dose_range_comes_from_the_rules_file():
    narrow = parse(DEFAULT_FILE.read_bytes().replace(b"starting_max_mg = 400", b"starting_max_mg = 300"))
    assert approved_at(LAST_MINUTE, narrow, starting_dose_mg=300).starting_dose_mg == 300
    refused = refused_at(LAST_MINUTE, narrow, starting_dose_mg=350)
    assert [(f.code, f.field) for f in refused.failures] == [("starting_dose_out_of_range", "starting_dose_mg")]
    assert "100-300 mg" in refused.failures[0].message


def test_a_decline_records_the_rules_it_was_taken_under():
    declined = decline(
        assessment(), None, DeclineRequest("clinical_judgement", "clin-1"), decision_id="d-1", now=NEW_YEAR, rules=RULES
    )
    assert (declined.regime, declined.rules_version) == ("ryan_haight_in_person", RULES.version)
