"""`hearth db position SERVICE`: where a service stands on each partition, by its database and by Kafka.

The database position is the one that counts (the inbox writes it with each batch's effects; the service seeks
there); Kafka's committed offset is what lag tooling shows.  A database position before the earliest offset
Kafka still holds is a gap: the service refuses to start until an operator restores a newer backup or, accepting
the loss, moves the position with `--set-earliest`.

Reads HEARTH_DATABASE_URL (the service's database) and HEARTH_KAFKA_* like the service itself.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from hearth.contracts import CATALOG

from .. import positions
from ..topics import partitions_of
from .kafka import settings


def register(commands: Any) -> None:
    group = commands.add_parser("db", help="a service's database against Kafka").add_subparsers(
        dest="action", required=True
    )
    position = group.add_parser(
        "position",
        help="consumer positions: database vs Kafka, and any gap",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    position.add_argument("service")
    position.add_argument(
        "--set-earliest",
        metavar="TOPIC:PARTITION",
        action="append",
        default=[],
        help="accept the loss of a gap: move the database position to Kafka's earliest offset",
    )
    position.set_defaults(run=show_positions)


def consumed_topics(service: str, prefix: str) -> list[str]:
    return sorted(prefix + spec.topic for spec in CATALOG.values() if service in spec.consumers)


async def show_positions(args: argparse.Namespace) -> int:
    dsn = os.environ.get("HEARTH_DATABASE_URL")
    if not dsn:
        print("HEARTH_DATABASE_URL is not set: the service's database (its runtime DSN will do)")
        return 2
    config = settings()
    topics = consumed_topics(args.service, config.topic_prefix)
    if not topics:
        print(f"{args.service} consumes no topics")
        return 2
    conn = await asyncpg.connect(dsn)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=config.kafka_bootstrap,
        group_id=config.topic_prefix + args.service,
        enable_auto_commit=False,
        **config.kafka_client_options(),
    )
    await consumer.start()
    try:
        tps = sorted(await partitions_of(config.kafka_bootstrap, topics, config.kafka_client_options()))
        earliest = await consumer.beginning_offsets(tps)
        latest = await consumer.end_offsets(tps)
        for spec in args.set_earliest:
            topic, _, partition = spec.rpartition(":")
            tp = TopicPartition(topic, int(partition))
            if tp not in earliest:
                print(f"{spec}: not a partition {args.service} consumes")
                return 2
            await positions.set_position(conn, args.service, topic, tp.partition, earliest[tp])
            print(f"{spec}: database position set to {earliest[tp]} (records before it are not applied)")
        stored = await positions.load(conn, args.service, topics)
        committed = {tp: await consumer.committed(tp) for tp in tps}
    finally:
        await consumer.stop()
        await conn.close()
    gaps = positions.find_gaps(
        stored,
        {(tp.topic, tp.partition): o for tp, o in earliest.items()},
        {(tp.topic, tp.partition): o for tp, o in latest.items()},
    )
    gap_at = {(g.topic, g.partition) for g in gaps}
    print(f"{'topic':<44} {'part':>4} {'database':>9} {'kafka':>9} {'earliest':>9} {'latest':>9} {'lag':>7}")
    for tp in tps:
        db = stored.get((tp.topic, tp.partition))
        lag = latest[tp] - (db if db is not None else earliest[tp])
        mark = "  GAP" if (tp.topic, tp.partition) in gap_at else ""
        print(
            f"{tp.topic:<44} {tp.partition:>4} {_show(db):>9} {_show(committed[tp]):>9} {earliest[tp]:>9}"
            f" {latest[tp]:>9} {lag:>7}{mark}"
        )
    for gap in gaps:
        print(f"gap: {gap}")
    return 1 if gaps else 0


def _show(offset: int | None) -> str:
    return "-" if offset is None else str(offset)
