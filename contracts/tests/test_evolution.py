"""Honest evolution rules: a subscriber holding today's schema (or today's package) reads an event from a newer
minor version — a new optional field, a new code in an open code list, a higher minor in `dataschema`; a new value
of a closed list is a breaking change, and so is a changed schema whose minor did not go up."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest

from hearth.contracts import CATALOG, ContractError, ReasonCode, build_event, parse_event, schema_minor
from hearth.contracts.compat import breaking_changes, minor_problem
from hearth.contracts.events import AdverseEventKind, AdverseEventReported, Declined
from hearth.contracts.published import schema
from hearth.contracts.schema import event_schema

ADVERSE = CATALOG["org.hearth.session.adverse-event-reported.v1"]


def newer_event() -> dict[str, Any]:
    """An adverse event as a later minor version would publish it."""
    event = json.loads(build_event(AdverseEventReported.example(), subject="pt-evolve-1").to_json())
    event["dataschema"] = f"{ADVERSE.dataschema}?minor={ADVERSE.minor + 3}"
    event["data"]["kind"] = "serotonin_syndrome"  # a code added later
    event["data"]["onset_minutes"] = 25  # an optional field added later
    return event


def test_a_subscriber_validating_with_todays_schema_accepts_a_newer_minor() -> None:
    jsonschema.Draft202012Validator(schema(ADVERSE.topic)).validate(newer_event())


def test_todays_package_reads_a_newer_minor_and_marks_the_new_code_unknown() -> None:
    event = parse_event(newer_event())

    assert schema_minor(event.dataschema) == ADVERSE.minor + 3
    kind = event.data.kind
    assert isinstance(kind, AdverseEventKind) and not kind.known
    assert kind.value == "serotonin_syndrome" and kind.name == "UNKNOWN"
    assert AdverseEventKind.HYPERTENSION.known
    assert event.data.model_dump(mode="json")["kind"] == "serotonin_syndrome"  # kept as published


def test_a_producer_cannot_emit_a_code_its_package_does_not_know() -> None:
    with pytest.raises(ContractError) as refused:
        Declined(assessment_id="asm-1", prescriber_id="clin-1", reason="made_up_code")  # type: ignore[arg-type]
    assert refused.value.field == "reason"
    with pytest.raises(ValueError, match="made_up_code"):
        ReasonCode("made_up_code")  # outside parse_event, an unknown code is an error as before


def test_events_carry_their_minor_and_schemas_accept_any_minor_of_the_major() -> None:
    event = build_event(AdverseEventReported.example(), subject="pt-evolve-2")

    assert event.dataschema == f"{ADVERSE.dataschema}?minor={ADVERSE.minor}"
    assert schema_minor(ADVERSE.dataschema) == 0
    validator = jsonschema.Draft202012Validator(event_schema(ADVERSE))
    for dataschema in (ADVERSE.dataschema, f"{ADVERSE.dataschema}?minor=12"):
        validator.validate({**json.loads(event.to_json()), "dataschema": dataschema})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**json.loads(event.to_json()), "dataschema": ADVERSE.dataschema.replace("v1", "v2")})


def test_a_new_value_in_a_closed_list_is_breaking_and_in_an_open_list_is_not() -> None:
    old = event_schema(ADVERSE)
    closed, opened = copy.deepcopy(old), copy.deepcopy(old)
    closed["$defs"]["AdverseEventReported"]["properties"]["severity"]["enum"].append("catastrophic")
    opened["$defs"]["AdverseEventKind"]["anyOf"][0]["enum"].append("serotonin_syndrome")

    assert [str(c) for c in breaking_changes(old, closed)] == [
        "data.severity: enum value(s) added: catastrophic (a reader validating with the old schema refuses them)"
    ]
    assert breaking_changes(old, opened) == []
    with pytest.raises(jsonschema.ValidationError):
        event = newer_event() | {"data": {**newer_event()["data"], "kind": "hypertension", "severity": "catastrophic"}}
        jsonschema.Draft202012Validator(old).validate(event)


def test_an_open_list_may_not_lose_a_code_or_close() -> None:
    old = event_schema(ADVERSE)
    removed, closed = copy.deepcopy(old), copy.deepcopy(old)
    removed["$defs"]["AdverseEventKind"]["anyOf"][0]["enum"].remove("nausea_vomiting")
    known = old["$defs"]["AdverseEventKind"]["anyOf"][0]["enum"]
    closed["$defs"]["AdverseEventKind"] = {"type": "string", "enum": known}

    assert [c.problem for c in breaking_changes(old, removed)] == ["known code(s) removed: nausea_vomiting"]
    assert [c.problem for c in breaking_changes(old, closed)] == ["open code list closed"]


def test_a_closed_list_may_open_and_a_constant_may_become_a_pattern_it_matches() -> None:
    old = event_schema(ADVERSE)
    before = copy.deepcopy(old)
    before["$defs"]["AdverseEventKind"] = {
        "type": "string",
        "enum": old["$defs"]["AdverseEventKind"]["anyOf"][0]["enum"],
    }
    before["properties"]["dataschema"] = {"type": "string", "const": ADVERSE.dataschema}

    assert breaking_changes(before, old) == []
    elsewhere = copy.deepcopy(before)
    elsewhere["properties"]["dataschema"]["const"] = "https://elsewhere.example/x.json"
    assert [c.path for c in breaking_changes(elsewhere, old)] == ["dataschema"]


def test_a_changed_schema_needs_a_higher_minor() -> None:
    old = event_schema(ADVERSE)
    new = copy.deepcopy(old)
    new["$defs"]["AdverseEventReported"]["properties"]["onset_minutes"] = {"type": "integer", "description": "x"}

    assert minor_problem(old, new) == "the schema changed but its minor did not go up (raise event_minor to 1)"
    new["examples"][0]["dataschema"] = f"{ADVERSE.dataschema}?minor=1"
    assert minor_problem(old, new) is None
    reworded = copy.deepcopy(old)
    reworded["description"] = "A better description."
    assert minor_problem(old, reworded) is None  # descriptions and examples are not the shape
