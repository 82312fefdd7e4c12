"""`hearth events tail` and `hearth patient timeline ID`: what happened, from the events themselves.

Both read the catalog's topics (with HEARTH_TOPIC_PREFIX), or those of the event types named with `--type`, as
the Kafka user of HEARTH_KAFKA_USERNAME: a subscriber names its own events. Every topic must exist and be readable,
or the command says which is not and exits 1. `--json` prints each event as the CloudEvent it was published as,
one per line, every attribute included (also ones this version of the contracts does not know).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from aiokafka import AIOKafkaConsumer

from hearth.contracts import CATALOG, ContractError, Event, EventSpec, parse_event

from ..context import trace_id_of
from .errors import CliError
from .kafka import check_readable, environment_help, read_all, settings


def register(commands: Any) -> None:
    def command(group: Any, name: str, summary: str) -> Any:
        parser = group.add_parser(
            name,
            help=summary,
            description=f"{summary}. {__doc__.split(chr(10) * 2)[1]}",
            epilog=environment_help(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument(
            "--type", dest="types", action="append", default=[], help="event type or short name (repeatable)"
        )
        parser.add_argument("--json", action="store_true", help="one CloudEvent per line, as published")
        return parser

    events = commands.add_parser("events", help="events on Kafka").add_subparsers(dest="action", required=True)
    tail = command(events, "tail", "follow events live")
    tail.add_argument("--patient", help="only this patient's events")
    tail.add_argument("--from-beginning", action="store_true")
    tail.set_defaults(run=tail_events)
    patient = commands.add_parser("patient", help="one patient across all topics").add_subparsers(
        dest="action", required=True
    )
    timeline = command(patient, "timeline", "the patient's events in time order")
    timeline.add_argument("patient_id")
    timeline.set_defaults(run=patient_timeline)


def _topics(wanted: list[str]) -> list[str]:
    prefix = settings().topic_prefix
    chosen = [spec for spec in CATALOG.values() if _matches(spec, wanted)]
    if not chosen:
        raise CliError(f"no event type matches {', '.join(wanted)} (see `hearth topics list`)", code=2)
    return sorted({prefix + spec.topic for spec in chosen})


def _matches(spec: EventSpec, wanted: list[str]) -> bool:
    return not wanted or any(w in (spec.type, spec.topic, spec.name) or f".{w}." in spec.type for w in wanted)


def _line(event: Event[Any]) -> str:
    data = event.data.model_dump(mode="json")
    summary = " ".join(f"{k}={v}" for k, v in data.items() if not isinstance(v, list | dict))
    trace_id = trace_id_of(event.traceparent)  # the trace to open in the tracing UI (docs/operations.md#tracing)
    return f"{event.time.isoformat()}  {event.subject:<14} {event.type:<48} {summary}" + (
        f" trace={trace_id}" if trace_id else ""
    )


def _as_published(raw: bytes) -> str:
    return json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":"))


async def tail_events(args: argparse.Namespace) -> int:
    config, topics = settings(), _topics(args.types)
    await check_readable(config, topics)
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=config.kafka_bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if args.from_beginning else "latest",
        **config.kafka_client_options(),
    )
    try:
        await consumer.start()
        async for record in consumer:
            try:
                event = parse_event(record.value or b"")
            except ContractError as exc:
                print(f"{record.topic}[{record.partition}]@{record.offset}  unreadable: {exc}", file=sys.stderr)
                continue
            if args.patient is None or event.subject == args.patient:
                print(_as_published(record.value or b"") if args.json else _line(event), flush=True)
    except asyncio.CancelledError:
        pass
    finally:
        await consumer.stop()
    return 0


async def patient_timeline(args: argparse.Namespace) -> int:
    config, topics = settings(), _topics(args.types)
    await check_readable(config, topics)
    found: list[tuple[Event[Any], bytes]] = []
    async for record in read_all(topics):
        if record.key is not None and record.key.decode(errors="replace") != args.patient_id:
            continue  # keyed by patient: skip without parsing
        try:
            event = parse_event(record.value or b"")
        except ContractError:
            continue
        if event.subject == args.patient_id:
            found.append((event, record.value))
    seen: set[str] = set()
    for event, raw in sorted(found, key=lambda pair: pair[0].time):
        if str(event.id) not in seen:  # the relay may have re-sent an event after a crash
            seen.add(str(event.id))
            print(_as_published(raw) if args.json else _line(event))
    if not args.json:
        print(f"{len(seen)} event(s) for {args.patient_id}")
    return 0
