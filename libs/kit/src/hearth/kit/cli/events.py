"""`hearth events tail` and `hearth patient timeline ID`: what happened, from the events themselves."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer

from hearth.contracts import CATALOG, ContractError, parse_event

from .kafka import read_all, settings


def register(commands: Any) -> None:
    events = commands.add_parser("events", help="events on Kafka").add_subparsers(dest="action", required=True)
    tail = events.add_parser("tail", help="follow events live")
    tail.add_argument("--type", dest="types", action="append", default=[], help="event type or short name")
    tail.add_argument("--patient", help="only this patient's events")
    tail.add_argument("--from-beginning", action="store_true")
    tail.set_defaults(run=tail_events)
    patient = commands.add_parser("patient", help="one patient across all topics").add_subparsers(
        dest="action", required=True
    )
    timeline = patient.add_parser("timeline", help="the patient's events in time order")
    timeline.add_argument("patient_id")
    timeline.set_defaults(run=patient_timeline)


def _topics() -> list[str]:
    prefix = settings().topic_prefix
    return sorted({prefix + spec.topic for spec in CATALOG.values()})


def _matches_type(event_type: str, wanted: list[str]) -> bool:
    return not wanted or any(w == event_type or f".{w}." in event_type for w in wanted)


def _line(event: Any) -> str:
    data = event.data.model_dump(mode="json")
    summary = " ".join(f"{k}={v}" for k, v in data.items() if not isinstance(v, list | dict))
    return f"{event.time.isoformat()}  {event.subject:<14} {event.type:<48} {summary}"


async def tail_events(args: argparse.Namespace) -> int:
    config = settings()
    consumer = AIOKafkaConsumer(
        *_topics(),
        bootstrap_servers=config.kafka_bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if args.from_beginning else "latest",
        **config.kafka_client_options(),
    )
    await consumer.start()
    try:
        async for record in consumer:
            try:
                event = parse_event(record.value or b"")
            except ContractError as exc:
                print(f"{record.topic}[{record.partition}]@{record.offset}  unreadable: {exc}")
                continue
            if (args.patient is None or event.subject == args.patient) and _matches_type(event.type, args.types):
                print(_line(event), flush=True)
    except asyncio.CancelledError:
        pass
    finally:
        await consumer.stop()
    return 0


async def patient_timeline(args: argparse.Namespace) -> int:
    found = []
    async for record in read_all(_topics()):
        if record.key is not None and record.key.decode(errors="replace") != args.patient_id:
            continue  # keyed by patient: skip without parsing
        try:
            event = parse_event(record.value or b"")
        except ContractError:
            continue
        if event.subject == args.patient_id:
            found.append(event)
    seen: set[str] = set()
    for event in sorted(found, key=lambda e: e.time):
        if str(event.id) not in seen:  # the relay may have re-sent an event after a crash
            seen.add(str(event.id))
            print(_line(event))
    print(f"{len(seen)} event(s) for {args.patient_id}")
    return 0
