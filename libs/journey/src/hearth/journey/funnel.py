"""Live progress of a run: a progress bar over patients and the funnel of the journey, from what the simulator
did and what Kafka carried."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rich.console import Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from .event_counter import EventCounter

# (label, event short name on Kafka)
STAGES = (
    ("screened", "screened"),
    ("approved", "approved"),
    ("declined", "declined"),
    ("shipped", "box-shipped"),
    ("delivered", "box-delivered"),
    ("sessions started", "session-started"),
    ("check-ins missed", "check-in-missed"),
    ("sessions completed", "session-completed"),
    ("integration due", "integration-due"),
    ("integration done", "integration-completed"),
    ("integration overdue", "integration-overdue"),
)


@dataclass
class Tally:
    """What the simulator itself did, by step (the other half of the reconciliation)."""

    steps: Counter[str] = field(default_factory=Counter)
    finished: int = 0
    failures: list[str] = field(default_factory=list)

    def add(self, step: str, n: int = 1) -> None:
        self.steps[step] += n


def funnel_table(counter: EventCounter, tally: Tally) -> Table:
    table = Table(title="journey funnel", expand=False)
    table.add_column("stage")
    table.add_column("events on Kafka", justify="right")
    for label, name in STAGES:
        table.add_row(label, str(counter.count(name)))
    return table


def event_counts_table(counter: EventCounter) -> Table:
    table = Table(title="events seen on Kafka, by type")
    table.add_column("type")
    table.add_column("count", justify="right")
    for event_type, n in sorted(counter.counts.items()):
        table.add_row(event_type, str(n))
    table.add_row("duplicates delivered (deduplicated)", str(counter.duplicates))
    table.add_row("unreadable records", str(counter.unreadable))
    return table


def simulator_table(tally: Tally) -> Table:
    table = Table(title="what the simulated patients and staff did")
    table.add_column("step")
    table.add_column("count", justify="right")
    for step, n in sorted(tally.steps.items()):
        table.add_row(step, str(n))
    return table


def make_progress(total: int) -> tuple[Progress, TaskID]:
    progress = Progress(
        TextColumn("[bold]patients"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=False
    )
    task = progress.add_task("patients", total=total)
    return progress, task


def live_view(progress: Progress, counter: EventCounter, tally: Tally) -> Group:
    return Group(progress, funnel_table(counter, tally))
