"""What ties an event to the request or event that caused it: correlation, causation and trace."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class EventContext:
    correlation_id: str
    causation_id: str | None = None
    traceparent: str | None = None
    # Set when the trigger can happen again with the same meaning (a redelivered event, a timer restored from a
    # backup): the events it emits then get ids derived from it, so a second run emits the same ids and every
    # consumer's inbox drops them.  None (HTTP commands): fresh random ids.
    id_seed: str | None = None

    @classmethod
    def new(cls, traceparent: str | None = None) -> EventContext:
        return cls(correlation_id=str(uuid.uuid4()), traceparent=traceparent)

    def caused_by(self, causation_id: str) -> EventContext:
        return replace(self, causation_id=causation_id)


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id of a W3C traceparent (`00-<trace id>-<span id>-<flags>`), for log lines."""
    if not traceparent:
        return None
    parts = traceparent.split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None
