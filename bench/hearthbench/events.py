"""The `screened` events every kit stage sends: built cheaply, and staged through the outbox with the time each
transaction committed."""

from __future__ import annotations

import time
import uuid
from typing import Any

import asyncpg

from hearth.contracts import Event, spec_for, topic_for
from hearth.contracts.events.screening import Screened
from hearth.kit import outbox
from hearth.kit.testing.helpers import screened_event

SCREENED_TOPIC = topic_for(Screened)
SCREENED_TYPE = spec_for(Screened).type
CONSUMER_SERVICE = "followup"  # the kit's test worker consumes `screened` as followup


class Events:
    """Valid `screened` events over `keys` patients: one built (and validated) per patient, then copied with a
    new id, which costs a few microseconds instead of a full validation."""

    def __init__(self, keys: int, run_id: str) -> None:
        self._keys = keys
        self._run_id = run_id
        self._templates: dict[int, Event[Screened]] = {}

    def make(self, i: int) -> Event[Screened]:
        k = i % self._keys
        template = self._templates.get(k)
        if template is None:
            template = self._templates[k] = screened_event(f"pt-{self._run_id}-{k:05d}")
        return template.model_copy(update={"id": str(uuid.uuid4())})

    def batch(self, first: int, count: int) -> list[Event[Screened]]:
        return [self.make(i) for i in range(first, first + count)]


class Stager:
    """Stages the events of each paced tick in one transaction with the kit's outbox.stage and remembers when
    each committed (wall clock, as the consumer side and Postgres' clock_timestamp() use)."""

    def __init__(self, conn: asyncpg.Connection[Any], prefix: str, events: Events, committed: dict[str, float]) -> None:
        self._conn = conn
        self._prefix = prefix
        self._events = events
        self._committed = committed

    async def stage(self, first: int, count: int) -> None:
        batch = self._events.batch(first, count)
        async with self._conn.transaction():
            await outbox.stage(self._conn, batch, lambda t: self._prefix + topic_for(t))
        now = time.time()
        for e in batch:
            self._committed[str(e.id)] = now
