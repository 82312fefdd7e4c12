"""The topic catalog: names, owners, consumers and lookups."""

from __future__ import annotations

import pytest

from hearth.contracts import (
    CATALOG,
    SERVICES,
    ApprovalRevoked,
    Approved,
    BoxShipped,
    ContractError,
    EventData,
    EventSpec,
    Screened,
    build_event,
    dlq_topic,
    spec_for,
    topic_for,
)

EXPECTED_TOPICS = {
    "screening": [
        "screened",
        "approved",
        "declined",
        "approval-revoked",
        "safety-review-overdue",
        "patient-erased",
        "audit-checkpoints",
    ],
    "fulfillment": ["box-shipped", "box-delivered", "order-cancelled", "box-returned", "box-lost", "audit-checkpoints"],
    "session": [
        "session-started",
        "check-in-missed",
        "session-completed",
        "adverse-event-reported",
        "audit-checkpoints",
    ],
    "followup": [
        "integration-due",
        "integration-overdue",
        "integration-completed",
        "dose-review-due",
        "audit-checkpoints",
    ],
}
EXPECTED_CONSUMERS = {
    "fulfillment": {"approved", "approval-revoked", "session-started", "patient-erased"},
    "session": {"approved", "approval-revoked", "box-shipped", "box-delivered", "patient-erased"},
    "followup": {
        "patient-erased",
        "screened",
        "session-started",
        "session-completed",
        "check-in-missed",
        "adverse-event-reported",
    },
    "screening": set(),
}


def test_services() -> None:
    assert SERVICES == ("screening", "fulfillment", "session", "followup")


def test_every_required_event_has_its_topic() -> None:
    topics = [spec.topic for spec in CATALOG.values()]

    assert topics == [f"{owner}.{name}.v1" for owner, names in EXPECTED_TOPICS.items() for name in names]


def test_consumers_are_as_designed() -> None:
    for service, names in EXPECTED_CONSUMERS.items():
        assert {spec.name for spec in CATALOG.values() if service in spec.consumers} == names


def test_entry_is_consistent(spec: EventSpec) -> None:
    assert spec.type == f"org.hearth.{spec.owner}.{spec.name}.v{spec.version}"
    assert spec.topic == f"{spec.owner}.{spec.name}.v{spec.version}"
    assert spec.data_model.event_type == spec.type
    assert spec.key == "subject"
    assert spec.owner not in spec.consumers
    assert spec.dataschema == f"https://schemas.hearth.internal/events/{spec.topic}.json"
    assert spec.description
    assert "\n" not in spec.description
    assert isinstance(spec.data_model.example(), spec.data_model)


def test_spec_for_accepts_every_way_of_naming_an_event() -> None:
    spec = CATALOG["org.hearth.screening.approved.v1"]
    event = build_event(Approved.example(), subject="pt-123")

    assert spec_for(Approved) is spec_for(Approved.example()) is spec_for(event) is spec
    assert spec_for("org.hearth.screening.approved.v1") is spec_for("screening.approved.v1") is spec
    assert topic_for(ApprovalRevoked) == "screening.approval-revoked.v1"
    assert topic_for(event.type) == "screening.approved.v1"
    assert topic_for(BoxShipped.example()) == "fulfillment.box-shipped.v1"


@pytest.mark.parametrize("unknown", ["org.hearth.screening.screened.v2", "nope", EventData])
def test_spec_for_an_unknown_event_is_a_contract_error(unknown: object) -> None:
    with pytest.raises(ContractError) as caught:
        spec_for(unknown)  # type: ignore[arg-type]

    assert caught.value.field == "type"


def test_dead_letter_topics() -> None:
    assert [dlq_topic(service) for service in SERVICES] == [
        "screening.dlq",
        "fulfillment.dlq",
        "session.dlq",
        "followup.dlq",
    ]
    with pytest.raises(ValueError, match="unknown service"):
        dlq_topic("billing")


def test_catalog_is_read_only() -> None:
    with pytest.raises(TypeError):
        CATALOG["x"] = CATALOG[Screened.event_type]  # type: ignore[index]
