"""ACLs of registered subscribers, derived from the registry: read the listed topics, own group prefix, nothing else."""

from __future__ import annotations

from hearth.contracts import CATALOG, SERVICES, dlq_topic
from hearth.contracts.subscribers import SUBSCRIBERS, load_subscribers
from hearth.kit.acls import catalog_acls, subscriber_acls

REGISTRY = load_subscribers(
    """
[[subscriber]]
name = "billing"
team = "Revenue"
contact = "revenue-team@hearth.internal"
description = "Invoices shipped boxes."
events = ["fulfillment.box-shipped.v1", "screening.approved.v1"]
"""
)


def test_a_subscriber_reads_its_topics_and_uses_its_own_group_prefix_only() -> None:
    bindings = {b.describe() for b in subscriber_acls(REGISTRY["billing"], "dev.")}

    assert bindings == {
        "User:billing read topic literal:dev.fulfillment.box-shipped.v1",
        "User:billing describe topic literal:dev.fulfillment.box-shipped.v1",
        "User:billing read topic literal:dev.screening.approved.v1",
        "User:billing describe topic literal:dev.screening.approved.v1",
        "User:billing read group prefixed:dev.billing.",
    }


def test_no_subscriber_may_write_or_read_a_dead_letter_topic() -> None:
    for subscriber in SUBSCRIBERS.values():
        bindings = subscriber_acls(subscriber)
        assert {b.operation for b in bindings} <= {"read", "describe"}
        assert not any(b.name.endswith(".dlq") for b in bindings)
        assert {b.name for b in bindings if b.resource == "topic"} <= {spec.topic for spec in CATALOG.values()}
        assert not {dlq_topic(s) for s in SERVICES} & {b.name for b in bindings}


def test_the_catalog_acls_cover_the_services_and_every_registered_subscriber() -> None:
    principals = {b.principal for b in catalog_acls("p.", REGISTRY)}

    assert principals == {f"User:{s}" for s in SERVICES} | {"User:billing"}
    assert {b.principal for b in catalog_acls()} >= {s.principal for s in SUBSCRIBERS.values()}
