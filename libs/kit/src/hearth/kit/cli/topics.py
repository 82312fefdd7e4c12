"""`hearth topics create`: the catalog's topics and the dead-letter topics."""

from __future__ import annotations

import argparse
from typing import Any

from ..topics import catalog_topic_configs, catalog_topics, configure_topics, ensure_topics
from .kafka import settings


def register(commands: Any) -> None:
    group = commands.add_parser("topics", help="Kafka topics of the catalog").add_subparsers(
        dest="action", required=True
    )
    create = group.add_parser(
        "create", help="create missing topics and set every topic's retention from the catalog (idempotent)"
    )
    create.add_argument("--partitions", type=int, default=6)
    create.add_argument(
        "--replication", type=int, default=None, help="replicas per topic (default: HEARTH_KAFKA_REPLICATION_FACTOR, 1)"
    )
    create.add_argument(
        "--min-insync-replicas",
        type=int,
        default=None,
        help="min.insync.replicas per topic (default: HEARTH_KAFKA_MIN_INSYNC_REPLICAS, else the broker's)",
    )
    create.add_argument(
        "--retention-ms", type=int, default=None, help="one retention for every topic (throwaway environments only)"
    )
    create.set_defaults(run=create_topics)
    group.add_parser("list", help="the topic names of the catalog").set_defaults(run=list_topics)


async def create_topics(args: argparse.Namespace) -> int:
    config = settings()
    configs = catalog_topic_configs(config.topic_prefix)
    if args.retention_ms is not None:
        configs = {topic: {"retention.ms": str(args.retention_ms)} for topic in configs}
    created = await ensure_topics(
        config.kafka_bootstrap,
        catalog_topics(config.topic_prefix),
        partitions=args.partitions,
        replication=args.replication or config.kafka_replication_factor,
        min_insync=args.min_insync_replicas or config.kafka_min_insync_replicas,
        configs=configs,
        client=config.kafka_client_options(),
    )
    print(f"created {len(created)} topic(s)" + (": " + ", ".join(created) if created else ""))
    changed = await configure_topics(config.kafka_bootstrap, configs, config.kafka_client_options())
    if changed:
        print(f"retention set on {len(changed)} existing topic(s): {', '.join(changed)}")
    return 0


def list_topics(_: argparse.Namespace) -> int:
    for name in catalog_topics(settings().topic_prefix):
        print(name)
    return 0
