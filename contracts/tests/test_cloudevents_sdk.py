"""The official CloudEvents SDK (2.2 API) reads our events, and we read the events it writes."""

from __future__ import annotations

from typing import Any

from cloudevents.core.bindings import kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from hearth.contracts import Event, EventSpec, build_event, parse_event
from hearth.contracts.schema import example_event

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_the_sdk_reads_every_example_as_a_structured_cloudevent(spec: EventSpec) -> None:
    ours = example_event(spec)

    theirs = JSONFormat().read(None, ours.to_json())

    assert isinstance(theirs, CloudEvent)
    assert (theirs.get_id(), theirs.get_type(), theirs.get_source()) == (ours.id, ours.type, ours.source)
    assert theirs.get_specversion() == "1.0"
    assert theirs.get_subject() == ours.subject
    assert theirs.get_time() == ours.time
    assert theirs.get_dataschema() == ours.dataschema
    assert theirs.get_extension("partitionkey") == ours.subject
    assert theirs.get_extension("correlationid") == ours.correlationid
    assert theirs.get_data() == ours.data.model_dump(mode="json")


def test_the_sdk_reads_a_kafka_record_and_takes_the_key_from_the_patient(spec: EventSpec) -> None:
    ours = build_event(spec.data_model.example(), subject="pt-123", causationid="req-1", traceparent=TRACEPARENT)
    record = kafka.KafkaMessage(
        headers={"content-type": Event.CONTENT_TYPE.encode()},
        key=ours.partitionkey.encode(),
        value=ours.to_json(),
    )

    for theirs in (kafka.from_structured_event(record), kafka.from_kafka_event(record)):
        assert theirs.get_type() == ours.type
        assert theirs.get_extension("partitionkey") == "pt-123"
        assert theirs.get_extension("causationid") == "req-1"
        assert theirs.get_extension("traceparent") == TRACEPARENT


def test_we_read_what_the_sdk_writes(spec: EventSpec) -> None:
    ours = example_event(spec)
    attributes: dict[str, Any] = {
        key: value for key, value in ours.model_dump().items() if key != "data" and value is not None
    }
    theirs = CloudEvent(attributes, ours.data.model_dump(mode="json"))

    record = kafka.to_structured_event(theirs)

    assert record.headers == {"content-type": b"application/cloudevents+json"}
    assert record.key == ours.subject
    assert parse_event(record.value) == ours
