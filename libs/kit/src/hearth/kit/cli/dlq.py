"""`hearth dlq list|show|replay SERVICE`: see what a service could not accept and send it back."""

from __future__ import annotations

import argparse
from typing import Any

from hearth.contracts import dlq_topic

from .. import dead_letters as dl
from ..publisher import KafkaPublisher, Record
from .kafka import read_all, settings


def register(commands: Any) -> None:
    group = commands.add_parser("dlq", help="dead letters of a service").add_subparsers(dest="action", required=True)
    listing = group.add_parser("list", help="list dead letters with reason and origin")
    listing.add_argument("service")
    listing.set_defaults(run=list_letters)
    show = group.add_parser("show", help="one dead letter in full")
    show.add_argument("service")
    show.add_argument("position", help="PARTITION:OFFSET in the DLQ topic")
    show.set_defaults(run=show_letter)
    replay = group.add_parser("replay", help="re-publish dead letters to their original topic")
    replay.add_argument("service")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("positions", nargs="*", default=[], help="PARTITION:OFFSET of the letters to replay")
    which.add_argument("--all", action="store_true", help="replay every dead letter")
    replay.set_defaults(run=replay_letters)


def _topic(service: str) -> str:
    return settings().topic_prefix + dlq_topic(service)


def _headers(record: Any) -> dict[str, str]:
    return {k: v.decode(errors="replace") for k, v in record.headers}


async def _letters(service: str) -> list[Any]:
    return [record async for record in read_all([_topic(service)])]


async def list_letters(args: argparse.Namespace) -> int:
    letters = await _letters(args.service)
    print(f"{len(letters)} dead letter(s) on {_topic(args.service)}")
    for record in letters:
        h = _headers(record)
        print(
            f"{record.partition}:{record.offset}  {h.get(dl.FAILED_AT, '?')}  {h.get(dl.REASON, '?'):<15}"
            f"  from {h.get(dl.ORIGIN_TOPIC)}[{h.get(dl.ORIGIN_PARTITION)}]@{h.get(dl.ORIGIN_OFFSET)}"
            f"  {h.get(dl.ERROR, '')[:120]}"
        )
    return 0


async def show_letter(args: argparse.Namespace) -> int:
    for record in await _letters(args.service):
        if f"{record.partition}:{record.offset}" == args.position:
            for key, value in _headers(record).items():
                print(f"{key}: {value}")
            print(f"key: {record.key.decode(errors='replace') if record.key else None}")
            print(f"value: {record.value.decode(errors='replace') if record.value else None}")
            return 0
    print(f"no dead letter at {args.position} on {_topic(args.service)}")
    return 1


async def replay_letters(args: argparse.Namespace) -> int:
    letters = await _letters(args.service)
    chosen = letters if args.all else [r for r in letters if f"{r.partition}:{r.offset}" in set(args.positions)]
    if not args.all and len(chosen) != len(set(args.positions)):
        print("some positions were not found; nothing replayed")
        return 1
    config = settings()
    publisher = KafkaPublisher(config.kafka_bootstrap, **config.kafka_client_options())
    try:
        for record in chosen:
            headers = [(k, v) for k, v in record.headers if k not in dl.DLQ_HEADERS and k != dl.REPLAYED_FROM]
            headers.append((dl.REPLAYED_FROM, f"{record.topic}:{record.partition}:{record.offset}".encode()))
            origin = _headers(record)[dl.ORIGIN_TOPIC]
            await publisher.send_all([Record(origin, record.key, record.value, headers)])
            print(f"replayed {record.partition}:{record.offset} to {origin}")
    finally:
        await publisher.stop()
    return 0
