"""What the timer operations a unit of work staged come to, so that flushing them takes a statement per kind of
write instead of one per operation.

Applied in this order — every prefix cancelled, every key cancelled, then every surviving schedule set — the
writes end where applying the operations one by one, in the order they were staged, would: a key ends set by
its last schedule unless a cancel of it (or of a prefix of it) came later; a cancel followed by a schedule ends
scheduled, as a delete followed by an insert would.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .timers import TimerRow


@dataclass(frozen=True)
class TimerWrites:
    prefixes: list[str]  # cancelled: every timer whose key starts with one of them
    cancelled: list[str]  # keys
    scheduled: list[TimerRow]  # one per key (the last staged), in key order so concurrent writers lock alike


def net_timer_writes(ops: Iterable[tuple[str, Any]]) -> TimerWrites:
    """`ops` are a unit of work's staged operations in order: ("schedule", TimerRow), ("cancel", key),
    ("cancel_prefix", prefix); any other operation (an event) is not about timers and is skipped."""
    prefixes: dict[str, None] = {}
    cancelled: set[str] = set()
    scheduled: dict[str, TimerRow] = {}
    for op, item in ops:
        if op == "schedule":
            scheduled[item.key] = item
        elif op == "cancel":
            scheduled.pop(item, None)
            cancelled.add(item)
        elif op == "cancel_prefix":
            scheduled = {key: row for key, row in scheduled.items() if not key.startswith(item)}
            prefixes[item] = None
    return TimerWrites(
        prefixes=list(prefixes),
        cancelled=sorted(cancelled),
        scheduled=sorted(scheduled.values(), key=lambda row: row.key),
    )
