"""`hearth kafka acls|apply-acls`: the per-service ACLs derived from the catalog, shown or applied."""

from __future__ import annotations

import argparse
from typing import Any

from ..acls import apply_acls, catalog_acls
from .kafka import settings


def register(commands: Any) -> None:
    group = commands.add_parser("kafka", help="Kafka access control").add_subparsers(dest="action", required=True)
    group.add_parser("acls", help="print the ACLs derived from the catalog").set_defaults(run=show)
    group.add_parser("apply-acls", help="create them on the broker (idempotent; needs admin credentials)").set_defaults(
        run=apply
    )


def show(_: argparse.Namespace) -> int:
    for binding in catalog_acls(settings().topic_prefix):
        print(binding.describe())
    return 0


async def apply(_: argparse.Namespace) -> int:
    config = settings()
    bindings = catalog_acls(config.topic_prefix)
    count = await apply_acls(config.kafka_bootstrap, bindings, config.kafka_client_options())
    print(f"{count} ACL bindings in place for {config.kafka_bootstrap}")
    return 0
