"""The prescriber's decision: approve, decline, revoke; every refusal with all its reasons."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hearth.contracts import ReasonCode
from hearth.rules import DEFAULT_FILE, load
from hearth.screening import decisions
from hearth.screening.decisions import (
    ApproveRequest,
    DecisionRefused,
    DeclineRequest,
    RevokeRequest,
    revoke,
)
from hearth.screening.domain import BloodPressure, Criteria, assess
from hearth.screening.examples import answers, intake

CRITERIA = Criteria(served_states=frozenset({"CO", "CA", "NY"}))

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
RULES = load(DEFAULT_FILE)


def approve(*args, **kwargs):
    return decisions.approve(*args, rules=RULES, **kwargs)


def decline(*args, **kwargs):
    return decisions.decline(*args, rules=RULES, **kwargs)


def assessment(**changes):
    return assess(intake(**changes), CRITERIA, assessment_id="asm-1", submitted_by="pt-test-0001", now=NOW)


def request(**changes) -> ApproveRequest:
    values = {
        "plan": "foundation",
        "starting_dose_mg": 200,
        "prescriber_id": "clin-1",
        "prescriber_license_state": "CO",
        "justification": None,
    }
    return ApproveRequest(**(values | changes))


def refusal(fn, *args, **kwargs) -> DecisionRefused:
    with pytest.raises(DecisionRefused) as caught:
        fn(*args, **kwargs)
    return caught.value


@pytest.mark.parametrize(("plan", "doses"), [("foundation", 8), ("extended", 24)])
def test_approving_an_eligible_screening_sets_plan_and_dose(plan, doses):
    approval = approve(assessment(), None, request(plan=plan), decision_id="apr-1", now=NOW)
    event = approval.approved_event()
    assert (event.plan, event.dose_count, event.starting_dose_mg) == (plan, doses, 200)
    assert (event.patient_state, event.prescriber_license_state, event.assessment_id) == ("CO", "CO", "asm-1")
    assert approval.active


def test_approving_an_ineligible_screening_is_a_conflict():
    refused = refusal(approve, assessment(age=17), None, request(), decision_id="apr-1", now=NOW)
    assert refused.conflict
    assert [f.code for f in refused.failures] == ["not_eligible"]
    assert "under_18" in refused.failures[0].message


def test_a_safety_flag_does_not_open_the_way_to_approving_an_exclusion():
    flagged = assessment(phq9=answers(16, 9, item9=2), mania=True)
    assert flagged.screening.outcome == "needs_review"
    refused = refusal(approve, flagged, None, request(justification="reviewed"), decision_id="a", now=NOW)
    assert refused.conflict
    assert [f.code for f in refused.failures] == ["not_eligible"]


def test_approving_needs_review_requires_a_written_justification():
    flagged = assessment(phq9=answers(16, 9, item9=1))
    for missing in (None, "", "   \n"):
        refused = refusal(approve, flagged, None, request(justification=missing), decision_id="a", now=NOW)
        assert not refused.conflict
        assert [(f.code, f.field) for f in refused.failures] == [("justification_required", "justification")]
    approval = approve(flagged, None, request(justification="Passive ideation, safety plan in place."),
                       decision_id="apr-1", now=NOW)  # fmt: skip
    assert approval.justification == "Passive ideation, safety plan in place."
    assert "justification" not in approval.approved_event().model_dump()


def test_the_prescriber_must_be_licensed_in_the_patient_state():
    refused = refusal(approve, assessment(), None, request(prescriber_license_state="CA"), decision_id="a", now=NOW)
    assert [(f.code, f.field) for f in refused.failures] == [("license_state_mismatch", "prescriber_license_state")]


def test_every_failed_condition_is_reported_at_once():
    review = assessment(blood_pressure=None)
    refused = refusal(
        approve,
        review,
        None,
        request(prescriber_license_state="CA", starting_dose_mg=450),
        decision_id="a",
        now=NOW,
    )
    assert [f.code for f in refused.failures] == [
        "license_state_mismatch",
        "starting_dose_out_of_range",
        "justification_required",
    ]


@pytest.mark.parametrize(("dose", "ok"), [(99, False), (100, True), (400, True), (401, False), (600, False)])
def test_starting_dose_is_100_to_400_mg(dose, ok):
    if ok:
        assert approve(assessment(), None, request(starting_dose_mg=dose), decision_id="a", now=NOW)
    else:
        refused = refusal(approve, assessment(), None, request(starting_dose_mg=dose), decision_id="a", now=NOW)
        assert [f.field for f in refused.failures] == ["starting_dose_mg"]


def test_one_decision_per_assessment():
    a = assessment()
    approval = approve(a, None, request(), decision_id="apr-1", now=NOW)
    again = refusal(approve, a, approval, request(), decision_id="apr-2", now=NOW)
    assert again.conflict and again.current == approval
    assert [f.code for f in again.failures] == ["already_decided"]
    declined = refusal(decline, a, approval, DeclineRequest(ReasonCode.CLINICAL_JUDGEMENT, "clin-2"),
                       decision_id="d", now=NOW)  # fmt: skip
    assert declined.current == approval


def test_declining_works_for_any_outcome_and_carries_only_the_code():
    declined = decline(assessment(age=17), None, DeclineRequest(ReasonCode.UNDER_18, "clin-1", "spoke with patient"),
                       decision_id="dec-1", now=NOW)  # fmt: skip
    event = declined.declined_event()
    assert (event.assessment_id, event.reason, event.prescriber_id) == ("asm-1", ReasonCode.UNDER_18, "clin-1")
    assert "spoke" not in event.model_dump_json()
    assert not declined.active


def test_revoking_an_approval_once():
    approval = approve(assessment(blood_pressure=BloodPressure(120, 70)), None, request(), decision_id="apr-1", now=NOW)
    revoked = revoke(approval, RevokeRequest(ReasonCode.ADVERSE_EVENT, "clin-9", "hypertensive episode"), now=NOW)
    assert not revoked.active
    event = revoked.revoked_event()
    assert (event.approval_id, event.prescriber_id, event.reason) == ("apr-1", "clin-9", ReasonCode.ADVERSE_EVENT)
    again = refusal(revoke, revoked, RevokeRequest(ReasonCode.ADVERSE_EVENT, "clin-9"), now=NOW)
    assert again.conflict and [f.code for f in again.failures] == ["already_revoked"]


def test_a_decline_cannot_be_revoked():
    declined = decline(
        assessment(), None, DeclineRequest(ReasonCode.PATIENT_REQUEST, "clin-1"), decision_id="d", now=NOW
    )
    refused = refusal(revoke, declined, RevokeRequest(ReasonCode.PATIENT_REQUEST, "clin-1"), now=NOW)
    assert [f.code for f in refused.failures] == ["not_an_approval"]
