"""What one consumed record is, from its raw bytes alone: an event this service takes (`Accepted`), or the
reason it is dead-lettered (`Rejected`); and what makes two copies of one event id the same event."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from hearth.contracts import ContractError, Event, parse_event, spec_for

from .dead_letters import ConsumedRecord, DeadLetterReason, printable
from .event_handlers import EventHandler
from .record_batches import UNREADABLE


@dataclass(frozen=True)
class Accepted:
    """A record that is a valid event of a type this service handles, from its owner, on its topic."""

    event: Event[Any]
    handler: EventHandler
    digest: bytes


@dataclass(frozen=True)
class Rejected:
    event_type: str
    reason: DeadLetterReason


def classify(
    record: ConsumedRecord, routes: dict[str, EventHandler], topic_of: Callable[[str], str]
) -> Accepted | Rejected:
    """Never raises: whatever is wrong with the record is a reason to dead-letter it (a JSON nesting that
    overflows the parser included)."""
    headers = record.headers
    if headers and headers[0][0] == UNREADABLE:  # a placeholder for a record Kafka's client could not unpack
        return Rejected("unreadable", DeadLetterReason("contract", (headers[0][1] or b"").decode(errors="replace")))
    try:
        event = parse_event(record.value or b"")
    except ContractError as exc:
        return Rejected("unreadable", DeadLetterReason("contract", str(exc)))
    except RecursionError:
        return Rejected("unreadable", DeadLetterReason("contract", "not readable: nested too deeply"))
    except Exception as exc:  # anything else the parser can meet is still about these bytes
        return Rejected("unreadable", DeadLetterReason("contract", f"not readable: {type(exc).__name__}: {exc}"))
    spec = spec_for(event.type)
    if record.topic != topic_of(event.type):
        error = f"{event.type} travels on {topic_of(event.type)}, not {record.topic}"
        return Rejected(event.type, DeadLetterReason("wrong_topic", error))
    if event.source != f"/hearth/{spec.owner}":
        error = f"{event.type} is owned by /hearth/{spec.owner}; source was {printable(event.source)[:200]}"
        return Rejected(event.type, DeadLetterReason("wrong_source", error))
    handler = routes.get(event.type)
    if handler is None:
        return Rejected(event.type, DeadLetterReason("unhandled_type", f"no handler for {event.type}"))
    return Accepted(event, handler, payload_digest(event))


def payload_digest(event: Event[Any]) -> bytes:
    """What makes two copies of one event id the same event: type, source, subject and data (not `time` or
    `traceparent`, which a re-emission after a restore may set anew)."""
    document = {
        "type": event.type,
        "source": event.source,
        "subject": event.subject,
        "data": event.data.model_dump(mode="json"),
    }
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).digest()


def conflict(event: Event[Any]) -> DeadLetterReason:
    return DeadLetterReason(
        "conflicting_duplicate",
        f"event id {event.id} was applied before with another payload; this copy is not applied",
    )
