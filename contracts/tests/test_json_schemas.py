"""The published JSON Schemas: valid, self-contained, open to additions, and matched by the examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError  # type: ignore[import-untyped]

from hearth.contracts import EventSpec, build_event
from hearth.contracts.generate import SCHEMA_DIR
from hearth.contracts.schema import event_schema

SCHEMAS = Path(__file__).resolve().parents[1] / SCHEMA_DIR


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_every_example_validates_against_its_committed_schema(spec: EventSpec) -> None:
    schema = json.loads((SCHEMAS / f"{spec.topic}.json").read_text())

    assert schema["$id"] == spec.dataschema
    assert schema["examples"]
    for example in schema["examples"]:
        _validator(schema).validate(example)


def test_a_freshly_built_event_validates(spec: EventSpec) -> None:
    event = build_event(spec.data_model.example(), subject="pt-123", causationid="req-1")

    _validator(event_schema(spec)).validate(json.loads(event.to_json()))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("type", "org.hearth.other.v1"),
        ("subject", "a b"),
        ("specversion", "0.3"),
        ("id", "nope"),
        ("data", []),
    ],
)
def test_a_broken_event_does_not_validate(spec: EventSpec, example_json: dict[str, Any], path: str, value: Any) -> None:
    example_json[path] = value

    with pytest.raises(ValidationError):
        _validator(event_schema(spec)).validate(example_json)


def test_a_missing_data_field_does_not_validate(spec: EventSpec, example_json: dict[str, Any]) -> None:
    example_json["data"].pop(next(iter(example_json["data"])))

    with pytest.raises(ValidationError, match="required"):
        _validator(event_schema(spec)).validate(example_json)


def test_schemas_are_open_to_fields_added_in_a_minor_version(spec: EventSpec, example_json: dict[str, Any]) -> None:
    example_json["data"]["added_in_1_1"] = 1
    example_json["tenantid"] = "t-1"

    _validator(event_schema(spec)).validate(example_json)
    assert "additionalProperties" not in json.dumps(event_schema(spec))
