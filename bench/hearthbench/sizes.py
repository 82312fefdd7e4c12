"""How much each measurement does: the default sizes, the --quick ones, and the help text of each option."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    produce: int = 50_000
    pg_seconds: float = 5.0
    pgbench_seconds: int = 5
    outbox_events: int = 20_000
    inbox_events: int = 20_000
    inbox_seconds: float = 15.0
    latency_seconds: float = 10.0
    timers: int = 1_000_000
    timers_schedule: int = 20_000
    timers_fire: int = 20_000
    timer_seconds: float = 10.0
    patients: int = 100
    journey_seconds: float = 60.0
    journey_rate: float = 1000.0


QUICK = Sizes(
    produce=5_000,
    pg_seconds=1.5,
    pgbench_seconds=2,
    outbox_events=2_000,
    inbox_events=2_000,
    inbox_seconds=5.0,
    latency_seconds=4.0,
    timers=20_000,
    timers_schedule=2_000,
    timers_fire=2_000,
    timer_seconds=4.0,
    patients=5,
    journey_seconds=6.0,
    journey_rate=100.0,
)


SIZE_HELP = {
    "produce": "records of the raw produce and consume rates",
    "pg_seconds": "seconds of each raw Postgres rate (and of the 1-per-transaction kit rates)",
    "pgbench_seconds": "pgbench -T of each pgbench run",
    "outbox_events": "events staged, then relayed",
    "inbox_events": "records offered to the inbox at each batch size",
    "inbox_seconds": "cap on each inbox throughput run",
    "latency_seconds": "length of each paced latency run",
    "timers": "pending timers bulk-loaded",
    "timers_schedule": "timers scheduled through a UnitOfWork, 100 per transaction",
    "timers_fire": "due timers fired at each batch size",
    "timer_seconds": "length of the lateness run at --timer-rate",
    "patients": "patients through the whole journey at once",
    "journey_seconds": "length of the whole journey's sustained run",
    "journey_rate": "patients arriving per minute in the whole journey's sustained run",
}
