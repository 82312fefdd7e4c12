"""Topic retention as configuration: every topic has one, with its reason, long for state and never shorter
than a late subscriber needs."""

from __future__ import annotations

import json

import pytest

from hearth.contracts import CATALOG, SERVICES, EventSpec, dlq_topic
from hearth.contracts.generate import ASYNCAPI, artifacts
from hearth.contracts.retention import SIGNALS, STATE, longest_retention, retention_of


def test_every_signal_topic_is_in_the_catalog() -> None:
    assert {spec.topic for spec in CATALOG.values()} >= SIGNALS


def test_state_is_kept_long_enough_to_rebuild_a_course_and_signals_for_an_outage(spec: EventSpec) -> None:
    retention = retention_of(spec.topic)

    assert retention.reason
    assert retention.days >= (30 if spec.topic in SIGNALS else 365)
    assert retention.ms == retention.days * 86_400_000


def test_approvals_are_state_and_dead_letters_have_their_own() -> None:
    assert retention_of("screening.approved.v1") is STATE
    assert retention_of(dlq_topic(SERVICES[0])).days == 30
    assert longest_retention() is STATE
    with pytest.raises(ValueError, match="neither"):
        retention_of("screening.unknown.v1")


def test_the_asyncapi_document_and_events_md_show_each_retention() -> None:
    files = artifacts()
    document = json.loads(files[ASYNCAPI])
    for spec in CATALOG.values():
        binding = document["channels"][spec.topic]["bindings"]["kafka"]
        assert binding["topicConfiguration"]["retention.ms"] == retention_of(spec.topic).ms
        assert f"kept {retention_of(spec.topic).days} days" in files["EVENTS.md"]
