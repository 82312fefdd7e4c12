"""The unit of work every trigger runs in: one Postgres transaction that holds the state change, the events it
causes (outbox), the timers it sets or cancels, and the clock reading it used."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel

from hearth.contracts import Event, EventData, build_event, spec_for, topic_for

from . import outbox, timers
from .context import EventContext
from .db import Connection
from .timer_writes import net_timer_writes

D = TypeVar("D", bound=EventData)

_EVENT_IDS = uuid.UUID("6f1d7a52-3c1e-4d8b-9a57-2b0e4c7f9e11")  # namespace of derived event ids


class TimerPayload(BaseModel):
    """What a timer carries to its handler.  `kind` names the handler, explicitly, not by class name."""

    kind: ClassVar[str]


class WrongOwnerError(RuntimeError):
    """A service tried to emit an event it does not own; topics are per-owner, so this is a bug."""


@dataclass
class Tx:
    conn: Connection
    now: datetime
    service: str
    context: EventContext
    topic_of: Callable[[str], str] = topic_for
    _pending: list[tuple[str, Any]] = field(default_factory=list)

    def emit(self, data: D, *, subject: str, once: str | None = None) -> Event[D]:
        """Stage an event.  `once` names a fact that can happen only once (a check-in missed: its session and
        index): the event's id is derived from it, so whichever trigger emits it — a timer now, a close later,
        the same timer again after a restore — consumers see one event."""
        spec = spec_for(data)
        if spec.owner != self.service:
            raise WrongOwnerError(f"{self.service} cannot emit {spec.type}: it belongs to {spec.owner}")
        event_id = None
        if once is not None:
            event_id = str(uuid.uuid5(_EVENT_IDS, f"{self.service}|{spec.type}|once|{once}"))
        elif self.context.id_seed is not None:
            nth = sum(1 for op, item in self._pending if op == "emit" and item.type == spec.type)
            event_id = str(uuid.uuid5(_EVENT_IDS, f"{self.context.id_seed}|{spec.type}|{nth}"))
        event = build_event(
            data,
            id=event_id,
            subject=subject,
            correlationid=self.context.correlation_id,
            causationid=self.context.causation_id,
            traceparent=self.context.traceparent,
            time=self.now,
        )
        self._pending.append(("emit", event))
        return event

    def schedule(self, payload: TimerPayload, *, at: datetime, key: str) -> None:
        """Set (or move) the timer `key`; a later schedule of the same key in this unit of work wins."""
        self._pending.append(("schedule", timers.TimerRow(key, payload.kind, at, payload.model_dump(mode="json"))))

    def cancel(self, key: str) -> None:
        self._pending.append(("cancel", key))

    def cancel_prefix(self, prefix: str) -> None:
        """Cancel every timer whose key starts with `prefix` (e.g. all check-ins of one session)."""
        self._pending.append(("cancel_prefix", prefix))

    async def lock_timers(self, *prefixes: str) -> None:
        """Lock the timers whose keys start with any of `prefixes` (a full key is its own prefix) BEFORE the
        trigger locks its own rows — the order the poller takes them in (timer, then state) — so a command that
        will cancel a timer does not deadlock with one that is firing. All or none: when one is held (firing),
        this raises `RowsBusy` and the unit of work runs again once the poller is done with it (timers.py)."""
        await timers.lock_prefixes(self.conn, prefixes)

    @property
    def emitted(self) -> list[Event[Any]]:
        return [item for op, item in self._pending if op == "emit"]

    async def flush(self) -> None:
        """Write what the trigger staged inside the still-open transaction: its events in the order staged, then
        its timers as the staged order leaves them."""
        pending, self._pending = self._pending, []
        events = [item for op, item in pending if op == "emit"]
        if events:
            await outbox.stage(self.conn, events, self.topic_of)
        if len(events) == len(pending):  # no timer operation (a timer handler that only writes state, often)
            return
        # A statement per kind of write, not one per operation; net_timer_writes keeps the staged order's outcome.
        writes = net_timer_writes(pending)
        await timers.cancel_prefixes(self.conn, writes.prefixes)
        await timers.delete_all(self.conn, writes.cancelled)
        await timers.schedule_all(self.conn, writes.scheduled, self.context.correlation_id)
