"""What the simulator did against what went over Kafka: the journey's books must balance exactly.

- every approved patient has exactly one order, and no order ever shipped a box number twice;
- every box the pharmacy shipped has exactly one `box-shipped`;
- every completed session has at most one `integration-due`, and one at least of `integration-due` or
  `integration-completed`; a skipped integration is due once and overdue once;
- every check-in the clinician skipped, or came too late for, has exactly one `check-in-missed`, and nothing
  else was reported missed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .event_counter import EventCounter
from .simulator import Record


@dataclass
class Reconciliation:
    problems: list[str] = field(default_factory=list)
    figures: dict[str, int] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return not self.problems


def reconcile(records: list[Record], counter: EventCounter) -> Reconciliation:
    result = Reconciliation()
    problems = result.problems
    approved = [r for r in records if r.approval_id is not None]
    shipped = counter.events_of("box-shipped")
    orders_by_approval: dict[str, set[str]] = {}
    for e in shipped:
        orders_by_approval.setdefault(e.data.approval_id, set()).add(e.data.order_id)
    boxes = Counter((e.data.order_id, e.data.box_number) for e in shipped)
    for r in approved:
        orders = orders_by_approval.get(str(r.approval_id), set())
        if r.boxes_shipped and len(orders) != 1:
            problems.append(f"{r.persona.patient_id}: {len(orders)} orders shipped for one approval")
    problems += [f"box {order}#{n} shipped {c} times" for (order, n), c in boxes.items() if c != 1]
    simulated_boxes = sum(len(r.boxes_shipped) for r in records)
    if simulated_boxes != len(shipped):
        problems.append(f"{simulated_boxes} boxes shipped by the pharmacy, {len(shipped)} box-shipped events")

    completed = {e.data.session_id for e in counter.events_of("session-completed")}
    due = Counter(e.data.session_id for e in counter.events_of("integration-due"))
    done = Counter(e.data.session_id for e in counter.events_of("integration-completed"))
    overdue = Counter(e.data.session_id for e in counter.events_of("integration-overdue"))
    for sid in completed:
        if due[sid] > 1 or done[sid] > 1 or overdue[sid] > 1:
            problems.append(f"session {sid}: due {due[sid]}, completed {done[sid]}, overdue {overdue[sid]}")
        if due[sid] + done[sid] == 0:
            problems.append(f"session {sid} completed with neither integration-due nor integration-completed")
    started = {sid for r in records for sid in r.sessions}
    problems += [f"session {sid} started but never completed" for sid in started - completed]
    for r in records:
        if r.persona.skips_integration:
            for sid in r.sessions:
                if (due[sid], overdue[sid]) != (1, 1):
                    problems.append(f"skipped integration of {sid}: due {due[sid]}, overdue {overdue[sid]}")

    missed = Counter((e.data.session_id, e.data.check_in_index) for e in counter.events_of("check-in-missed"))
    skipped = Counter(pair for r in records for pair in [*r.skipped, *r.late])
    if missed != skipped:
        extra = missed - skipped
        lacking = skipped - missed
        problems.append(
            f"check-in-missed does not match the skipped check-ins: extra {dict(extra)}, lacking {dict(lacking)}"
        )
    problems += [f"{r.persona.patient_id}: {r.error}" for r in records if r.error]
    result.figures = {
        "patients": len(records),
        "approved": len(approved),
        "boxes shipped": simulated_boxes,
        "sessions": len(started),
        "check-ins skipped": sum(len(r.skipped) for r in records),
        "check-ins too late": sum(len(r.late) for r in records),
        "check-in-missed events": sum(missed.values()),
        "integration-due events": sum(due.values()),
        "integration-completed events": sum(done.values()),
        "integration-overdue events": sum(overdue.values()),
        "duplicate deliveries deduplicated": counter.duplicates,
    }
    return result


def as_rows(reconciliation: Reconciliation) -> list[tuple[str, Any]]:
    return list(reconciliation.figures.items())
