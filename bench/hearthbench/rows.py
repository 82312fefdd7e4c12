"""The rows of the table. Every row is known up front, so a row that could not be measured still shows, with
the reason."""

from __future__ import annotations

import argparse
from dataclasses import dataclass


@dataclass
class Row:
    key: str
    section: str
    what: str
    unit: str
    limit: str | None = None  # key of the row this figure is compared with
    short: str = ""  # how the row is named when it is another row's limit
    value: float | None = None
    note: str = ""

    def figure(self) -> str:
        return "—" if self.value is None else f"{fmt(self.value, self.unit)} {self.unit}".strip()


# key | unit | key of the limit it is compared with | what it measures
# ({n}: --pg-concurrency, {tx}: --stage-tx, {b}: each of --inbox-batches, {f}: each of --fire-batches)
CATALOG = """
kafka.produce       | msg/s     |                   | raw aiokafka produce: 1 KB JSON, acks=all, idempotent, pipelined
kafka.consume       | msg/s     |                   | raw aiokafka consume: getmany, no commits
kafka.lat.p50       | ms        |                   | raw Kafka send → arrival, p50, at the relay latency rate
kafka.lat.p99       | ms        |                   | raw Kafka send → arrival, p99, at the relay latency rate

kafka.lat.{b}.p50   | ms        |                   | raw Kafka send → arrival, p50, at the batch {b} hop rate
kafka.lat.{b}.p99   | ms        |                   | raw Kafka send → arrival, p99, at the batch {b} hop rate

pg.commit.1         | commits/s |                   | raw asyncpg single-row INSERT commits, 1 connection
pg.commit.n         | commits/s |                   | raw asyncpg single-row INSERT commits, {n} connections
pg.stmt.1           | rows/s    |                   | raw asyncpg single-row INSERTs, 100 per transaction
pgbench.insert.1    | tps       | pg.commit.1       | pgbench single-row INSERT script, 1 client (reference)
pgbench.insert.n    | tps       | pg.commit.n       | pgbench single-row INSERT script, {n} clients (reference)
pgbench.tpcb.n      | tps       |                   | pgbench built-in TPC-B-like, {n} clients (reference)
mem.total           | MiB       |                   | machine memory
outbox.stage.tx     | events/s  | pg.stmt.1         | outbox.stage, {tx} events per transaction
outbox.stage.1      | events/s  | pg.commit.1       | outbox.stage, 1 event per transaction
outbox.relay        | events/s  | kafka.produce     | OutboxRelay publishing a backlog (in-process)
outbox.lat.p50      | ms        | kafka.lat.p50     | staging commit → arrival at a consumer, p50
outbox.lat.p99      | ms        | kafka.lat.p99     | staging commit → arrival at a consumer, p99

inbox.{b}           | events/s  | pg.commit.1       | inbox batch {b}: dedupe + one-row effect + offset commit
inbox.{b}.db        | events/s  | pg.commit.1       | the same, Inbox.handle_batch alone (records in memory, no Kafka)
inbox.{b}.run       | events/s  | pg.commit.1       | inbox batch {b}, batch handler: one INSERT for a run of events
inbox.{b}.run.db    | events/s  | pg.commit.1       | the same, Inbox.handle_batch alone (records in memory, no Kafka)
inbox.{b}.bare.db   | events/s  | pg.commit.1       | inbox batch {b}, a handler writing nothing (the kit's own cost)

inbox.{b}.lat.p50   | ms        | kafka.lat.{b}.p50 | hop, batch {b}: producer commit → effect committed, p50
inbox.{b}.lat.p99   | ms        | kafka.lat.{b}.p99 | hop, batch {b}: producer commit → effect committed, p99

timers.pending      | timers    |                   | pending timers in the table while firing
timers.copy         | rows/s    |                   | bulk load of the pending timers with COPY
timers.schedule.1   | timers/s  | pg.commit.1       | timers.schedule through a UnitOfWork, 1 per transaction
timers.schedule.100 | timers/s  | pg.stmt.1         | timers.schedule through a UnitOfWork, 100 per transaction

timers.fire.{f}     | timers/s  | pg.stmt.1         | TimerPoller.fire_due, batch {f}

timers.interval     | ms        |                   | poll interval of the lateness run (timer_poll_seconds)
timers.late.p50     | ms        | timers.interval   | lateness (fire time - due time), p50
timers.late.p99     | ms        | timers.interval   | lateness (fire time - due time), p99
journey             |           |                   | whole journey (hearth.journey.bench)
mem.bench           | MiB       | mem.total         | peak RSS, this process (in-process relay, inbox, poller)
mem.relay           | MiB       | mem.total         | peak RSS, relay worker process (latency runs)

mem.consumer.{b}    | MiB       | mem.total         | peak RSS, inbox consumer worker process, batch {b}
"""
# How a row is named in the limit column of the rows compared with it.
LIMIT_NAMES = {
    "kafka.produce": "raw produce",
    "kafka.consume": "raw consume",
    "kafka.lat.p50": "raw Kafka p50",
    "kafka.lat.p99": "raw Kafka p99",
    "kafka.lat.{b}.p50": "raw Kafka p50",
    "kafka.lat.{b}.p99": "raw Kafka p99",
    "pg.commit.1": "raw PG commits",
    "pg.commit.n": "raw PG commits, {n} conns",
    "pg.stmt.1": "raw PG statements",
    "mem.total": "machine memory",
    "outbox.stage.tx": "staging",
    "outbox.relay": "relay",
    "inbox.{b}": "inbox batch {b}",
    "timers.interval": "poll interval",
}
SECTION_OF_PREFIX = {"kafka": "limits", "pg": "limits", "pgbench": "limits", "mem.total": "limits", "mem": "memory"}


def catalog(args: argparse.Namespace) -> list[Row]:
    """The rows, in order; a group of template lines (blank-line separated) is repeated for each value."""
    rows = []
    for group in CATALOG.strip().split("\n\n"):
        lines = [[cell.strip() for cell in line.split("|")] for line in group.splitlines()]
        name, values = "", [0]
        if "{b}" in group:
            name, values = "b", args.inbox_batches
        elif "{f}" in group:
            name, values = "f", args.fire_batches
        for v in values:
            fill = {"n": args.pg_concurrency, "tx": args.stage_tx, name: v}
            for key, unit, limit, what in lines:
                section = SECTION_OF_PREFIX.get(key, SECTION_OF_PREFIX.get(key.split(".")[0], key.split(".")[0]))
                k, text, lim = (c.format(**fill) for c in (key, what, limit))
                rows.append(Row(k, section, text, unit, lim or None, LIMIT_NAMES.get(key, "").format(**fill)))
    return rows


def fmt(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:,.0f}"
    if unit in ("", "s") or abs(value) < 10:
        return f"{value:,.2f}"
    return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"
