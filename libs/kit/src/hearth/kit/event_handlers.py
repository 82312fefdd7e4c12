"""What a service runs for each event type it consumes: a handler per event, or a batch handler.

A handler takes one event and the unit of work it runs in (`Tx`) and writes its effects there.  A **batch
handler** (`batched(...)`) takes a run of events of its type, each with its own `Tx`, on the same connection,
and may write the effects of all of them with one statement: the inbox hands it every event of one batch read
from Kafka that comes one after the other in that batch, is new (not a duplicate) and routes to it.  Several
events in a run may concern one entity (the same patient): they are in the order they were read, and a
handler that writes one row per entity folds them in that order.  It is the same function for one event: when a
run fails, the inbox settles the batch again record by record, calling it with a run of one, so a record that
keeps failing is dead-lettered alone, exactly as with a handler per event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from hearth.contracts import Event, EventData, spec_for

from .tx import Tx

EventHandler = Callable[[Any, Tx], Awaitable[None]]
RunHandler = Callable[[Sequence[tuple[Any, Tx]]], Awaitable[None]]


class BatchHandler:
    """An event handler that can also take a run of events at once (`many`); called with one event, it is
    that run of one, so every caller of an `EventHandler` can call it."""

    def __init__(self, many: RunHandler) -> None:
        self.many = many

    async def __call__(self, event: Event[Any], tx: Tx) -> None:
        await self.many([(event, tx)])

    def __repr__(self) -> str:
        return f"batched({getattr(self.many, '__qualname__', self.many)!r})"


def batched(many: RunHandler) -> BatchHandler:
    """Declare `many(items)` — items being (event, tx) pairs, in the order read — as a batch handler."""
    return BatchHandler(many)


def event_routes(*pairs: tuple[type[EventData], EventHandler]) -> dict[str, EventHandler]:
    """The subscription table of a service: event model → handler, keyed by the event's wire type."""
    return {spec_for(model).type: handler for model, handler in pairs}
