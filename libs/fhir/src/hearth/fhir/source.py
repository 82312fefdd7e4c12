"""The events on Kafka, read the way `hearth patient timeline` reads them (the kit's `check_readable` and
`read_all`), and held to the same provenance rules as a consuming service: a record is used only when its event
parses, travels on its type's topic and comes from its type's owner. Everything else is counted, never mapped."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hearth.contracts import ContractError, Event, parse_event, spec_for
from hearth.fhir.journey import MAPPINGS
from hearth.kit.cli.kafka import check_readable, read_all, settings


@dataclass
class Read:
    """The events read, and how many records were left out and why."""

    events: list[Event[Any]] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def refusal(topic: str, prefix: str, event: Event[Any]) -> str | None:
    """Why an event read from `topic` is not to be used (None: it is)."""
    spec = spec_for(event.type)
    if topic != prefix + spec.topic:
        return "wrong_topic"
    if event.source != f"/hearth/{spec.owner}":
        return "wrong_source"
    return None


def topics(prefix: str) -> list[str]:
    """The topics of every event type that maps to FHIR resources."""
    return sorted(prefix + spec_for(event_type).topic for event_type in MAPPINGS)


async def read_events(patient_id: str | None = None) -> Read:
    """Every usable event now on Kafka, of one patient or of all. Every topic must exist and be readable (else a
    one-line `CliError`): a resource built from part of the history would be wrong, not just incomplete."""
    config, found = settings(), Read()
    prefix = config.topic_prefix
    await check_readable(config, topics(prefix))
    async for record in read_all(topics(prefix)):
        if patient_id is not None and record.key is not None and record.key.decode(errors="replace") != patient_id:
            continue  # keyed by patient: skip without parsing
        try:
            event = parse_event(record.value or b"")
        except (ContractError, RecursionError):
            found.skipped["unreadable"] += 1
            continue
        if patient_id is not None and event.subject != patient_id:
            continue
        reason = refusal(record.topic, prefix, event)
        if reason is None:
            found.events.append(event)
        else:
            found.skipped[reason] += 1
    return found
