"""The clinical and regulatory rules the payloads enforce, and what they must never carry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from hearth.contracts import (
    CATALOG,
    Approved,
    BoxShipped,
    ContractError,
    DoseReviewDue,
    EventData,
    IntegrationDue,
    ReasonCode,
    Screened,
    SessionStarted,
    build_event,
)
from hearth.contracts.events import gad7_band, phq9_band
from hearth.contracts.schema import event_schema

# Substrings that would betray personal data in a field name. Pseudonymous ids and clinical facts only.
PERSONAL = ("name", "address", "street", "city", "zip", "postal", "phone", "mobile", "email", "mail", "birth",
            "dob", "age", "ssn", "social_security", "insurance_number", "member_id")  # fmt: skip


def _with(model: type[EventData], **changes: Any) -> EventData:
    return model(**{**model.example().model_dump(), **changes})


def _field_names(node: Any) -> set[str]:
    if isinstance(node, dict):
        own = set(node.get("properties", {})) if isinstance(node.get("properties"), dict) else set()
        return own | {name for value in node.values() for name in _field_names(value)}
    if isinstance(node, list):
        return {name for item in node for name in _field_names(item)}
    return set()


def test_no_field_name_suggests_personal_data() -> None:
    names = {name for spec in CATALOG.values() for name in _field_names(event_schema(spec))}
    names |= {name for spec in CATALOG.values() for name in spec.data_model.model_fields}

    assert len(names) > 40
    assert [(name, word) for name in sorted(names) for word in PERSONAL if word in name.lower()] == []


def test_every_field_has_a_description(spec: Any) -> None:
    schema = event_schema(spec)
    data = schema["$defs"][spec.data_model.__name__]
    for properties in (schema["properties"], data["properties"]):
        assert {name for name, prop in properties.items() if not prop.get("description")} == set()


@pytest.mark.parametrize("patient", ["jane.doe@example.com", "Jane Doe", "x", "+1 555 0100"])
def test_a_patient_id_cannot_hold_contact_details(patient: str) -> None:
    with pytest.raises(ContractError) as caught:
        build_event(Screened.example(), subject=patient)

    assert caught.value.field == "subject"


# The cut-offs of the instruments (BRIEF.md), written out rather than computed.
PHQ9 = [
    (0, 4, "minimal"),
    (5, 9, "mild"),
    (10, 14, "moderate"),
    (15, 19, "moderately_severe"),
    (20, 27, "severe"),
]
GAD7 = [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 21, "severe")]


@pytest.mark.parametrize("total", range(28))
def test_phq9_band_of_every_total(total: int) -> None:
    expected = next(band for low, high, band in PHQ9 if low <= total <= high)

    assert phq9_band(total) == expected
    assert _with(Screened, phq9_total=total, phq9_band=expected)
    for _, _, other in PHQ9:
        if other != expected:
            with pytest.raises(ContractError, match="phq9_band"):
                _with(Screened, phq9_total=total, phq9_band=other)


@pytest.mark.parametrize("total", range(22))
def test_gad7_band_of_every_total(total: int) -> None:
    expected = next(band for low, high, band in GAD7 if low <= total <= high)

    assert gad7_band(total) == expected
    assert _with(Screened, gad7_total=total, gad7_band=expected)
    for _, _, other in GAD7:
        if other != expected:
            with pytest.raises(ContractError, match="gad7_band"):
                _with(Screened, gad7_total=total, gad7_band=other)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"phq9_total": 28}, "phq9_total"),
        ({"phq9_total": -1}, "phq9_total"),
        ({"gad7_total": 22}, "gad7_total"),
        ({"phq9_total": 20, "phq9_band": "moderate"}, "phq9_band"),
        ({"gad7_total": 3, "gad7_band": "mild"}, "gad7_band"),
        ({"safety_flag": True, "outcome": "ineligible", "reasons": ["safety_flag_item9"]}, "outcome"),
        ({"safety_flag": True, "outcome": "needs_review", "reasons": ["missing_data"]}, "reasons"),
        ({"safety_flag": False, "outcome": "needs_review", "reasons": ["safety_flag_item9"]}, "reasons"),
        ({"outcome": "eligible", "reasons": ["under_18"]}, "reasons"),
        ({"outcome": "ineligible", "reasons": []}, "reasons"),
        ({"outcome": "ineligible", "reasons": ["under_18", "under_18"]}, "reasons"),
        ({"outcome": "ineligible", "reasons": ["clinical_judgement"]}, "reasons"),
        ({"outcome": "ineligible", "reasons": ["not_a_code"]}, "reasons.0"),
        ({"patient_state": "ZZ"}, "patient_state"),
    ],
)
def test_screened_rules(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ContractError) as caught:
        _with(Screened, **changes)

    assert caught.value.field == field


def test_a_safety_flag_always_goes_to_review() -> None:
    screened = _with(
        Screened,
        safety_flag=True,
        outcome="needs_review",
        reasons=[ReasonCode.SAFETY_FLAG_ITEM9, ReasonCode.UNDER_18],
    )

    assert screened.outcome == "needs_review"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"plan": "foundation", "dose_count": 24}, "dose_count"),
        ({"plan": "extended", "dose_count": 8}, "dose_count"),
        ({"dose_count": 12}, "dose_count"),
        ({"starting_dose_mg": 99}, "starting_dose_mg"),
        ({"starting_dose_mg": 401}, "starting_dose_mg"),
        ({"patient_state": "NY"}, "patient_state"),
    ],
)
def test_approved_rules(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ContractError) as caught:
        _with(Approved, **changes)

    assert caught.value.field == field


def test_extended_plan_has_24_doses() -> None:
    assert _with(Approved, plan="extended", dose_count=24, starting_dose_mg=400)


def test_boxes_always_need_an_adult_signature() -> None:
    with pytest.raises(ContractError) as caught:
        _with(BoxShipped, signature_required=False)

    assert caught.value.field == "signature_required"


def test_session_dose_and_check_ins() -> None:
    started = SessionStarted.example().started_at
    cases: list[tuple[dict[str, Any], str]] = [
        ({"dose_mg": 601}, "dose_mg"),
        ({"session_number": 0}, "session_number"),
        ({"check_ins_due": []}, "check_ins_due"),
        ({"check_ins_due": [started + timedelta(minutes=20), started]}, "check_ins_due"),
        ({"check_ins_due": [started - timedelta(minutes=1)]}, "check_ins_due"),
    ]
    for changes, field in cases:
        with pytest.raises(ContractError) as caught:
            _with(SessionStarted, **changes)
        assert caught.value.field == field
    assert _with(SessionStarted, dose_mg=600)


def test_windows_run_forwards() -> None:
    opens = IntegrationDue.example().window_opens_at
    with pytest.raises(ContractError, match="window_closes_at"):
        _with(IntegrationDue, window_closes_at=opens)
    review = DoseReviewDue.example()
    with pytest.raises(ContractError, match="due_at"):
        _with(DoseReviewDue, due_at=review.first_session_at - timedelta(days=1))
