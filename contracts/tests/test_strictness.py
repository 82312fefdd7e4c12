"""Strict when building, tolerant of additions when reading (the rule in hearth.contracts.base)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hearth.contracts import ContractError, EventSpec, Screened, build_event, parse_event


def test_a_producer_cannot_add_an_unknown_field(spec: EventSpec) -> None:
    fields = spec.data_model.example().model_dump()

    with pytest.raises(ContractError) as caught:
        spec.data_model(**fields, surprise=1)  # type: ignore[call-arg]

    assert caught.value.field == "surprise"


def test_a_reader_ignores_fields_a_newer_minor_version_added(spec: EventSpec, example_json: dict[str, Any]) -> None:
    example_json["data"]["added_in_1_1"] = {"anything": [1, 2]}
    example_json["tenantid"] = "t-1"  # an extension attribute added on the way (a bridge, a newer producer)

    event = parse_event(json.dumps(example_json))

    assert event.data == spec.data_model.example()
    assert "added_in_1_1" not in event.data.model_dump()
    assert "tenantid" not in event.model_dump()


def test_a_reader_still_validates_every_field_it_knows(example_json: dict[str, Any]) -> None:
    example_json["data"]["added_in_1_1"] = True
    example_json["subject"] = "not a patient id"

    with pytest.raises(ContractError) as caught:
        parse_event(example_json)

    assert caught.value.field == "subject"


def test_the_envelope_itself_forbids_unknown_attributes_when_built() -> None:
    event = build_event(Screened.example(), subject="pt-123")

    with pytest.raises(ContractError) as caught:
        type(event)(**event.model_dump(), tenantid="t-1")  # type: ignore[call-arg]

    assert caught.value.field == "tenantid"


def test_validating_directly_is_strict_too() -> None:
    document = json.loads(build_event(Screened.example(), subject="pt-123").to_json())
    document["data"]["added_in_1_1"] = True
    model = type(build_event(Screened.example(), subject="pt-123"))

    with pytest.raises(ValueError, match="added_in_1_1"):
        model.model_validate(document)

    assert parse_event(document).data == Screened.example()
