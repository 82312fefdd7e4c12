"""The subscriber registry: outside systems named as consumers, validated against the catalog."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hearth.contracts import CATALOG, SERVICES
from hearth.contracts.generate import SCHEMA_DIR, main
from hearth.contracts.subscribers import (
    SUBSCRIBERS,
    RegistryError,
    load_subscribers,
    readers_of,
    registry_problems,
)

CONTRACTS = Path(__file__).resolve().parents[1]

ENTRY = """
[[subscriber]]
name = "billing"
team = "Revenue"
contact = "revenue-team@hearth.internal"
description = "Invoices shipped boxes."
events = ["fulfillment.box-shipped.v1", "org.hearth.screening.approved.v1"]
"""


def test_the_packaged_registry_is_valid_and_names_catalog_topics_only() -> None:
    assert registry_problems() == []
    assert SUBSCRIBERS, "the registry ships at least one subscriber"
    topics = {spec.topic for spec in CATALOG.values()}
    for subscriber in SUBSCRIBERS.values():
        assert set(subscriber.topics) <= topics
        assert subscriber.name not in SERVICES
        assert subscriber.team and subscriber.contact and subscriber.description


def test_an_entry_names_events_by_topic_or_type_and_gets_its_own_group_prefix() -> None:
    billing = load_subscribers(ENTRY)["billing"]

    assert billing.topics == ("fulfillment.box-shipped.v1", "screening.approved.v1")
    assert billing.principal == "User:billing"
    assert billing.group_prefix() == "billing."
    assert billing.group_prefix("staging.") == "staging.billing."


def test_registered_subscribers_are_readers_next_to_the_services() -> None:
    registry = load_subscribers(ENTRY)

    assert readers_of("screening.approved.v1", registry) == ("fulfillment", "session", "billing")
    assert readers_of("screening.declined.v1", registry) == ()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (('name = "billing"', 'name = "screening"'), "reserved"),
        (('name = "billing"', 'name = "hearth-billing"'), "reserved"),
        (('name = "billing"', 'name = "Billing!"'), "name"),
        (('"fulfillment.box-shipped.v1"', '"fulfillment.dlq"'), "dead-letter"),
        (('"fulfillment.box-shipped.v1"', '"fulfillment.box-eaten.v1"'), "not in the catalog"),
        (('"fulfillment.box-shipped.v1", ', ""), ""),  # still valid: one event left
        (('contact = "revenue-team@hearth.internal"\n', ""), "contact"),
        (('events = ["fulfillment.box-shipped.v1", "org.hearth.screening.approved.v1"]', "events = []"), "events"),
    ],
)
def test_a_bad_entry_is_refused_with_the_reason(change: tuple[str, str], problem: str) -> None:
    text = ENTRY.replace(*change)
    if not problem:
        assert load_subscribers(text)["billing"].topics == ("screening.approved.v1",)
        return
    with pytest.raises(RegistryError) as refused:
        load_subscribers(text)
    assert problem in str(refused.value)


def test_two_entries_with_one_name_are_refused() -> None:
    with pytest.raises(RegistryError, match="twice"):
        load_subscribers(ENTRY + ENTRY)


def test_retiring_an_event_a_subscriber_still_reads_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "v1 stays until every consumer moved": a snapshot whose event left the catalog, still in the registry.
    shutil.copytree(CONTRACTS / SCHEMA_DIR, tmp_path / SCHEMA_DIR)
    retired = json.loads((tmp_path / SCHEMA_DIR / "screening.approved.v1.json").read_text())
    retired["$id"] = retired["$id"].replace("approved", "approved-old")
    (tmp_path / SCHEMA_DIR / "screening.approved-old.v1.json").write_text(json.dumps(retired))
    registry = tmp_path / "subscribers.toml"
    registry.write_text(ENTRY.replace("org.hearth.screening.approved.v1", "screening.approved-old.v1"))

    status = main(["--out", str(tmp_path), "--allow-breaking", "--subscribers", str(registry)])

    assert status == 2
    out = capsys.readouterr().out
    assert "screening.approved-old.v1" in out and "billing" in out
    assert (tmp_path / SCHEMA_DIR / "screening.approved-old.v1.json").exists()  # nothing written
