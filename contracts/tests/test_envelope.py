"""Building and reading the CloudEvents envelope."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hearth.contracts import (
    ContractError,
    Event,
    EventSpec,
    Screened,
    build_event,
    parse_event,
    spec_for,
)

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_every_event_round_trips_through_json(spec: EventSpec) -> None:
    event = build_event(spec.data_model.example(), subject="pt-123", causationid="req-9", traceparent=TRACEPARENT)

    back = parse_event(event.to_json())

    assert back == event
    assert type(back.data) is spec.data_model
    assert back.to_json() == event.to_json()


def test_parse_accepts_bytes_str_and_mapping_alike(spec: EventSpec) -> None:
    raw = build_event(spec.data_model.example(), subject="pt-123").to_json()

    assert parse_event(raw) == parse_event(raw.decode()) == parse_event(json.loads(raw)) == parse_event(bytearray(raw))


def test_build_event_fills_the_envelope_from_the_catalog() -> None:
    before = datetime.now(UTC)
    event = build_event(Screened.example(), subject="pt-123")

    assert event.specversion == "1.0"
    assert uuid.UUID(event.id).version == 4
    assert event.type == "org.hearth.screening.screened.v1"
    assert event.source == "/hearth/screening"
    assert event.dataschema == spec_for(Screened).event_dataschema == f"{spec_for(Screened).dataschema}?minor=0"
    assert event.datacontenttype == "application/json"
    assert event.subject == event.partitionkey == "pt-123"
    assert uuid.UUID(event.correlationid)
    assert event.causationid is None
    assert event.traceparent is None
    assert before <= event.time <= datetime.now(UTC)
    assert event.time.tzinfo is UTC


def test_build_event_takes_the_optional_attributes() -> None:
    at = datetime(2026, 11, 20, 17, 0, tzinfo=timezone(timedelta(hours=2)))
    event = build_event(
        Screened.example(),
        subject="pt-123",
        source="/hearth/screening/api",
        correlationid="journey-1",
        causationid="req-42",
        traceparent=TRACEPARENT,
        id=uuid.UUID("0b6f3c5e-6c1d-4c1e-9a53-2f0d8f1b7a10"),  # type: ignore[arg-type]
        time=at,
    )

    assert (event.source, event.correlationid, event.causationid) == (
        "/hearth/screening/api",
        "journey-1",
        "req-42",
    )
    assert event.traceparent == TRACEPARENT
    assert event.id == "0b6f3c5e-6c1d-4c1e-9a53-2f0d8f1b7a10"
    assert event.time == at
    assert event.time.tzinfo is UTC


def test_to_json_is_compact_and_leaves_unset_attributes_out() -> None:
    raw = build_event(Screened.example(), subject="pt-123").to_json()

    assert isinstance(raw, bytes)
    assert b": " not in raw
    assert b", " not in raw
    document = json.loads(raw)
    assert "causationid" not in document
    assert "traceparent" not in document
    assert document["time"].endswith("Z")
    assert list(document)[:4] == ["specversion", "id", "source", "type"]


def test_content_type_is_structured_mode_cloudevents() -> None:
    assert Event.CONTENT_TYPE == "application/cloudevents+json"


def test_events_are_immutable() -> None:
    event = build_event(Screened.example(), subject="pt-123")

    with pytest.raises(ValueError, match="frozen"):
        event.subject = "pt-456"  # type: ignore[misc]


def test_partition_key_must_be_the_subject() -> None:
    document = json.loads(build_event(Screened.example(), subject="pt-123").to_json())
    document["partitionkey"] = "pt-456"

    with pytest.raises(ContractError) as caught:
        parse_event(document)

    assert caught.value.field == "partitionkey"


def test_the_payload_must_match_the_declared_type() -> None:
    event = build_event(Screened.example(), subject="pt-123")

    with pytest.raises(ContractError) as caught:
        Event[Screened](**{**event.model_dump(), "type": "org.hearth.screening.declined.v1"})

    assert caught.value.field == "data"


def test_build_event_refuses_a_payload_outside_the_catalog() -> None:
    with pytest.raises(ContractError) as caught:
        build_event({"phq9_total": 3}, subject="pt-123")  # type: ignore[type-var]

    assert caught.value.field == "type"
