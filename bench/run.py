"""Benchmarks: how close the kit comes to what this machine can do.

    make bench                                   # default sizes: under 10 minutes on a quiet 2-core machine
    uv run python bench/run.py --quick           # small sizes, to check that every row still runs
    uv run python bench/run.py --timers 1000000  # any size is an option: --help lists them
    uv run python bench/run.py --only limits,inbox --profile inbox-1

One run measures, side by side: the limits of the machine (raw aiokafka produce/consume, raw asyncpg commits,
pgbench for reference), the outbox relay, the inbox consumer (batch 1 and 100: the before/after of settling a
batch per transaction and offset commit), durable timers, the whole journey when `hearth.journey.bench` exists,
and the peak RSS of every process started. Each figure is printed with its ratio to the limit it is compared
with; the same table, the machine's description, the commit and the command go to bench/RESULTS.md.

The local Kafka and Postgres come from HEARTH_KAFKA_BOOTSTRAP + HEARTH_PG_ADMIN_DSN when both are set, else from
deploy/local/infra.py (started when down, and stopped again at the end unless something else uses it). Every
run uses fresh databases and topics of its own and removes them afterwards. No figure here is asserted anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import functools
import importlib
import importlib.metadata
import io
import logging
import os
import platform
import pstats
import re
import resource
import secrets
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, cast

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from hearth.contracts import Event, dlq_topic, spec_for, topic_for
from hearth.contracts.events.screening import Screened
from hearth.kit import outbox
from hearth.kit.consumer import attach_inbox, make_broker
from hearth.kit.context import EventContext
from hearth.kit.db import Connection, create_pool
from hearth.kit.dead_letters import ConsumedRecord, DeadLetters
from hearth.kit.inbox import Inbox, Outcome
from hearth.kit.logging import configure_logging
from hearth.kit.publisher import KafkaPublisher
from hearth.kit.relay import OutboxRelay
from hearth.kit.settings import kafka_client_options
from hearth.kit.testing import launcher, postgres
from hearth.kit.testing.helpers import migrate_kit, screened_event
from hearth.kit.testing.kafka import delete_topics
from hearth.kit.testing.launcher import LocalInfra
from hearth.kit.testing.workers import EFFECTS_SQL, on_screened
from hearth.kit.timer_poller import TimerPoller, timer_routes
from hearth.kit.topics import ensure_topics, partitions_of
from hearth.kit.tx import TimerPayload, Tx
from hearth.kit.uow import UnitOfWork

REPO = Path(__file__).resolve().parent.parent
SECTIONS = ("limits", "outbox", "inbox", "timers", "journey")
PROFILE_STAGES = ("outbox-stage", "relay", "inbox-<batch>", "inbox-db-<batch>", "timers-schedule", "timers-fire")
PROFILE_PATTERN = re.compile(r"^(outbox-stage|relay|inbox-[0-9]+|inbox-db-[0-9]+|timers-schedule|timers-fire)$")
SCREENED_TOPIC = topic_for(Screened)
SCREENED_TYPE = spec_for(Screened).type
CONSUMER_SERVICE = "followup"  # the kit's test worker consumes `screened` as followup
TIMER_KIND = "bench-timer"
ROW_SQL = "CREATE TABLE bench_rows (id bigserial PRIMARY KEY, k integer NOT NULL, payload text NOT NULL)"
ROW_INSERT = "INSERT INTO bench_rows (k, payload) VALUES ($1, $2)"
ROW_PAYLOAD = "x" * 100
TIMER_FIRED_SQL = """
CREATE TABLE bench_timer_fired (
    key text NOT NULL, due_at timestamptz NOT NULL, fired_at timestamptz NOT NULL DEFAULT clock_timestamp())
"""


# ------------------------------------------------------------------------------------------------------------
# Options


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
    "patients": "patients through the whole journey",
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    default = Sizes()
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Throughput, latency and memory of the kit, side by side with the machine's limits.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (any size given explicitly still wins)")
    size = parser.add_argument_group("sizes (defaults shown; --quick uses small ones)")
    for name, text in SIZE_HELP.items():
        kind = type(getattr(default, name))
        shown = f"[{getattr(default, name)}; --quick: {getattr(QUICK, name)}]"
        size.add_argument(f"--{name.replace('_', '-')}", type=kind, default=argparse.SUPPRESS, help=f"{text} {shown}")
    knobs = parser.add_argument_group("settings")
    knobs.add_argument("--partitions", type=int, default=6, help="partitions of every topic created")
    knobs.add_argument("--keys", type=int, default=1000, help="distinct record keys (patients)")
    knobs.add_argument("--linger-ms", type=int, default=5, help="linger of the raw pipelined producer")
    knobs.add_argument("--rounds", type=int, default=2, help="timed rounds of raw produce/consume (best counts)")
    knobs.add_argument("--pg-concurrency", type=int, default=4, help="connections of the concurrent raw rate")
    knobs.add_argument("--stage-tx", type=int, default=100, help="events per staging transaction")
    knobs.add_argument("--relay-batch", type=int, default=500, help="outbox_batch_size of the relay")
    knobs.add_argument("--inbox-batches", default="1,100", help="consumer_batch_size values, comma-separated")
    knobs.add_argument("--fire-batches", default="100,500", help="timer batch sizes of the firing rate")
    knobs.add_argument("--timer-rate", type=float, default=1000.0, help="timers falling due per second (lateness)")
    knobs.add_argument("--timer-interval", type=float, default=0.5, help="timer_poll_seconds of the lateness run")
    knobs.add_argument("--timer-batch", type=int, default=100, help="timer_batch_size of the lateness run")
    knobs.add_argument(
        "--load", type=float, default=0.5, help="latency runs go at this fraction of the measured maximum rate"
    )
    knobs.add_argument("--outbox-rate", type=float, help="rate of the relay latency run (default: --load x max)")
    knobs.add_argument("--hop-rate", type=float, help="rate of the inbox hop runs (default: --load x max)")
    run = parser.add_argument_group("run")
    run.add_argument("--only", default=",".join(SECTIONS), help=f"sections to run, of {', '.join(SECTIONS)}")
    run.add_argument(
        "--profile", default="", help=f"cProfile these stages (slows them), of {', '.join(PROFILE_STAGES)}"
    )
    run.add_argument("--profile-dir", type=Path, default=REPO / "bench" / "profiles", help="where profiles go")
    run.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS.md", help="markdown results file")
    run.add_argument("--no-results", action="store_true", help="print the table only, write no results file")
    run.add_argument("--pgbench", default="/usr/lib/postgresql/15/bin/pgbench", help="pgbench binary")
    run.add_argument("--stage-timeout", type=float, default=300.0, help="seconds before a stuck stage is abandoned")
    args = parser.parse_args(argv)
    base = QUICK if args.quick else default
    chosen = {name: getattr(args, name) for name in Sizes.__dataclass_fields__ if hasattr(args, name)}
    args.sizes = replace(base, **chosen)
    args.only = _choices(args.only, SECTIONS, "--only", parser)
    args.profile = [x.strip() for x in args.profile.split(",") if x.strip()]
    if unknown := [x for x in args.profile if not PROFILE_PATTERN.match(x)]:
        parser.error(f"--profile: unknown {', '.join(unknown)} (choose from {', '.join(PROFILE_STAGES)})")
    args.inbox_batches = [int(x) for x in args.inbox_batches.split(",") if x.strip()]
    args.fire_batches = [int(x) for x in args.fire_batches.split(",") if x.strip()]
    return args


def _choices(text: str, allowed: Sequence[str], option: str, parser: argparse.ArgumentParser) -> list[str]:
    picked = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [x for x in picked if x not in allowed]
    if unknown:
        parser.error(f"{option}: unknown {', '.join(unknown)} (choose from {', '.join(allowed)})")
    return picked


# ------------------------------------------------------------------------------------------------------------
# The table: every row is known up front, so a row that could not be measured still shows, with the reason


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


def ratio(row: Row, rows: dict[str, Row]) -> str:
    limit = rows.get(row.limit or "")
    if row.value is None or limit is None or not limit.value:
        return "—"
    r = row.value / limit.value
    return f"{r:.3f}" if r < 0.01 else f"{r:.2f}" if r < 10 else f"{r:.1f}"


def limit_text(row: Row, rows: dict[str, Row]) -> str:
    limit = rows.get(row.limit or "")
    if limit is None:
        return ""
    return f"{limit.short or limit.what}: {limit.figure()}"


def table(rows: Sequence[Row], by_key: dict[str, Row]) -> list[list[str]]:
    return [[r.section, r.what, r.figure(), limit_text(r, by_key), ratio(r, by_key), r.note] for r in rows]


HEADER = ["section", "measurement", "figure", "limit", "ratio", "notes"]


def render_text(cells: list[list[str]]) -> str:
    """Columns as in the markdown table; each row's notes go on the line below it, to keep the width down."""
    widths = [max(len(HEADER[i]), *(len(c[i]) for c in cells)) for i in range(len(HEADER) - 1)]
    lines = []
    for n, cell in enumerate([HEADER[:-1], ["-" * w for w in widths], *cells]):
        left = [cell[0].ljust(widths[0]), cell[1].ljust(widths[1]), cell[2].rjust(widths[2])]
        lines.append("  ".join([*left, cell[3].ljust(widths[3]), cell[4].rjust(widths[4])]).rstrip())
        if n > 1 and cell[5]:
            lines.append(" " * (widths[0] + 4) + cell[5])
    return "\n".join(lines)


def render_markdown(cells: list[list[str]]) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(["---", "---", "---:", "---", "---:", "---"]) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in cell) + " |" for cell in cells]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------------------
# Small helpers


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=1000, method="inclusive")[int(q * 1000) - 1]


def kb_json(seq: int, sent: float = 0.0, size: int = 1024) -> bytes:
    """A JSON object of `size` bytes carrying a sequence number and the time it was sent."""
    body: dict[str, Any] = {"seq": seq, "sent": sent, "patient": f"pt-{seq % 1000:05d}", "kind": "bench.raw"}
    body["pad"] = ""
    body["pad"] = "x" * max(0, size - len(orjson.dumps(body)))
    return orjson.dumps(body)


def vm_hwm_mib(pid: int) -> float | None:
    """Peak resident set size of a live process, from /proc/<pid>/status."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def own_peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


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


async def pace(rate: float, seconds: float, emit: Callable[[int, int], Awaitable[None]], tick: float = 0.01) -> float:
    """Call `emit(first, count)` so that events go out at `rate` per second for `seconds` (at most one call per
    `tick`; a slow call is caught up on the next one); returns the rate achieved."""
    loop = asyncio.get_running_loop()
    total = max(1, int(rate * seconds))
    start = loop.time()
    sent = 0
    while sent < total:
        due = min(total, int((loop.time() - start) * rate) + 1)
        if due > sent:
            await emit(sent, due - sent)
            sent = due
        await asyncio.sleep(max(tick, start + sent / rate - loop.time()))
    return total / max(loop.time() - start, 1e-9)


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout: float, what: str, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")
        await asyncio.sleep(every)


class CpuMeter:
    """Wall time and this process's CPU time over a stretch of code: the CPU share tells a stage that is bound
    by Python (near 100%) from one that waits on round trips (well below)."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def stop(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu

    @staticmethod
    def note(wall: float, cpu: float, count: int) -> str:
        per = f", {cpu / count * 1e6:,.0f} µs CPU each" if count else ""
        return f"bench process CPU {cpu / wall:.0%} of wall{per}"


# ------------------------------------------------------------------------------------------------------------
# The run: databases, topics, worker processes, rows


class WorkerProcess:
    """A kit component in its own process (`python -m hearth.kit.testing.workers`), its output in a log file."""

    def __init__(self, log_dir: Path, role: str, *args: str) -> None:
        self.role = role
        self.log_path = log_dir / f"{role}-{secrets.token_hex(3)}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hearth.kit.testing.workers", role, *args],
                env=dict(os.environ, PYTHONUNBUFFERED="1"),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def check(self) -> None:
        if self.proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the {self.role} worker exited with {self.proc.returncode}:\n{tail}")

    def peak_rss_mib(self) -> float | None:
        return vm_hwm_mib(self.proc.pid) if self.proc.poll() is None else None

    async def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, 30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                await asyncio.to_thread(self.proc.wait, 10)


class Bench:
    def __init__(self, args: argparse.Namespace, bootstrap: str, admin_dsn: str, log_dir: Path) -> None:
        self.args = args
        self.sizes: Sizes = args.sizes
        self.bootstrap = bootstrap
        self.admin_dsn = admin_dsn
        self.log_dir = log_dir
        self.run_id = secrets.token_hex(3)
        self.rows = catalog(args)
        self.by_key = {r.key: r for r in self.rows}
        self.failures: list[str] = []
        self.profiles: list[Path] = []
        self.rates: dict[str, float] = {}  # rates the latency runs achieved, by row key
        self.started = time.monotonic()
        self._databases: list[str] = []
        self._topics: list[str] = []
        self._workers: list[WorkerProcess] = []

    # -- rows

    def put(self, key: str, value: float, note: str = "") -> None:
        row = self.by_key[key]
        row.value = value
        row.note = note
        self.say(f"{row.what}: {row.figure()}" + (f" ({note})" if note else ""))

    def value(self, key: str) -> float | None:
        row = self.by_key.get(key)
        return row.value if row else None

    def add_row(self, row: Row) -> None:
        last = max(i for i, r in enumerate(self.rows) if r.section == row.section)
        self.rows.insert(last + 1, row)
        self.by_key[row.key] = row

    def peak(self, key: str, mib: float | None, note: str) -> None:
        if mib is not None and (self.value(key) or 0) < mib:
            self.put(key, mib, note)

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f} s] {text}", file=sys.stderr, flush=True)

    async def attempt(
        self, keys: Sequence[str], what: str, fn: Callable[[], Awaitable[None]], *, timeout: float | None = -1.0
    ) -> None:
        """Run one measurement; a failure is noted on its rows (and in the log) and the run goes on."""
        try:
            await asyncio.wait_for(fn(), self.args.stage_timeout if timeout == -1.0 else timeout)
        except Exception as exc:
            reason = f"failed: {type(exc).__name__}: {exc}".splitlines()[0][:160]
            for key in keys:
                row = self.by_key.get(key)
                if row is not None and row.value is None:
                    row.note = reason
            self.failures.append(f"{what}: {reason}")
            with (self.log_dir / "failures.log").open("a") as log:
                log.write(f"--- {what}\n{traceback.format_exc()}\n")
            self.say(f"{what} {reason}")

    @contextlib.contextmanager
    def profiled(self, stage: str) -> Iterator[None]:
        if stage not in self.args.profile:
            yield
            return
        profiler = cProfile.Profile()
        profiler.enable()
        try:
            yield
        finally:
            profiler.disable()
            self.args.profile_dir.mkdir(parents=True, exist_ok=True)
            path = self.args.profile_dir / f"{stage}.txt"
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            out.write(f"cProfile of the stage {stage!r} (bench/run.py); figures of a profiled stage are slower\n\n")
            stats.sort_stats("tottime").print_stats(35)
            stats.sort_stats("cumulative").print_stats(35)
            path.write_text(out.getvalue())
            profiler.dump_stats(path.with_suffix(".prof"))
            self.profiles.append(path)
            self.say(f"profile of {stage} written to {path}")

    # -- resources, each removed at the end

    async def database(self, name: str, *, kit: bool = True, extra_sql: str = "") -> str:
        dsn = await postgres.create_database(self.admin_dsn, prefix=f"bench_{name}")
        self._databases.append(dsn)
        if kit:
            await migrate_kit(dsn, extra_sql)
        elif extra_sql:
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute(extra_sql)
            finally:
                await conn.close()
        return dsn

    async def topics(self, name: str, *, dlq: bool = False) -> str:
        """A fresh prefix with its `screened` topic (and followup's DLQ); returns the prefix."""
        prefix = f"bench-{self.run_id}-{name}."
        names = [prefix + SCREENED_TOPIC] + ([prefix + dlq_topic(CONSUMER_SERVICE)] if dlq else [])
        await self.topic(*names)
        return prefix

    async def topic(self, *names: str) -> None:
        await ensure_topics(self.bootstrap, names, partitions=self.args.partitions)
        self._topics.extend(names)

    def worker(self, role: str, *args: str) -> WorkerProcess:
        worker = WorkerProcess(self.log_dir, role, *args)
        self._workers.append(worker)
        return worker

    async def cleanup(self) -> None:
        for worker in self._workers:
            with contextlib.suppress(Exception):
                await worker.stop()
        for dsn in self._databases:
            try:
                await postgres.drop_database(self.admin_dsn, dsn)
            except Exception as exc:
                self.say(f"could not drop {dsn.rsplit('/', 1)[-1]}: {type(exc).__name__}: {exc}")
        if self._topics:
            await delete_topics(self.bootstrap, self._topics, within=30.0)


# ------------------------------------------------------------------------------------------------------------
# Limits of the machine


async def limits(b: Bench) -> None:
    topic = f"bench-{b.run_id}-raw"
    await b.attempt(["kafka.produce", "kafka.consume"], "raw Kafka", lambda: raw_kafka(b, topic))
    dsn = await b.database("limits", kit=False, extra_sql=ROW_SQL)
    await b.attempt(["pg.commit.1"], "raw Postgres, 1 connection", lambda: pg_commits(b, dsn, 1, "pg.commit.1"))
    n = b.args.pg_concurrency
    await b.attempt(["pg.commit.n"], f"raw Postgres, {n} connections", lambda: pg_commits(b, dsn, n, "pg.commit.n"))
    await b.attempt(["pg.stmt.1"], "raw Postgres statements", lambda: pg_statements(b, dsn))
    keys = ["pgbench.insert.1", "pgbench.insert.n", "pgbench.tpcb.n"]
    await b.attempt(keys, "pgbench", lambda: pgbench(b))
    if "outbox" not in b.args.only:  # else measured at the rate of the relay latency run
        rate = b.args.outbox_rate or 1000.0
        raw = functools.partial(raw_latency, b, rate, "kafka.lat")
        await b.attempt(["kafka.lat.p50", "kafka.lat.p99"], f"raw Kafka latency at {rate:,.0f}/s", raw)


async def raw_kafka(b: Bench, topic: str) -> None:
    """The best of --rounds timed rounds each way: a limit is what the machine can do, and a broker that has
    just started (JIT, page cache) or a burst of other work on the machine only ever makes a round slower."""
    await b.topic(topic)
    n, rounds = b.sizes.produce, b.args.rounds
    values = [kb_json(i) for i in range(n)]
    keys = [f"pt-{i % b.args.keys:05d}".encode() for i in range(n)]
    producer = AIOKafkaProducer(
        **kafka_client_options(),
        bootstrap_servers=b.bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=b.args.linger_ms,
    )
    await producer.start()
    rates = []
    try:
        warm = max(1, n // 5)  # untimed: metadata and the producer id first
        await asyncio.gather(*[await producer.send(topic, value=values[i], key=keys[i]) for i in range(warm)])
        for _ in range(rounds):
            started = time.perf_counter()
            futures = [await producer.send(topic, value=v, key=k) for v, k in zip(values, keys, strict=True)]
            await asyncio.gather(*futures)
            rates.append(n / (time.perf_counter() - started))
    finally:
        await producer.stop()
    note = f"{n:,} records, {b.args.partitions} partitions, linger {b.args.linger_ms} ms; best of {_rounds(rates)}"
    b.put("kafka.produce", max(rates), note)

    expect = warm + rounds * n
    rates = []
    for _ in range(rounds):
        consumer = AIOKafkaConsumer(**kafka_client_options(), bootstrap_servers=b.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = await partitions_of(b.bootstrap, [topic])
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            for tp in partitions:
                await consumer.position(tp)
            got = 0
            started = time.perf_counter()
            deadline = started + 120
            while got < expect and time.perf_counter() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                got += sum(len(records) for records in batch.values())
            rates.append(got / (time.perf_counter() - started))
        finally:
            await consumer.stop()
        if got < expect:
            raise TimeoutError(f"consumed {got} of {expect} records")
    b.put("kafka.consume", max(rates), f"{expect:,} records; best of {_rounds(rates)}")


def _rounds(rates: Sequence[float]) -> str:
    return " / ".join(f"{r:,.0f}" for r in rates)


async def raw_latency(b: Bench, rate: float, key: str) -> None:
    """Raw aiokafka at the rate of a kit latency run: producer (linger 0) → consumer, the send time in the value."""
    topic = f"bench-{b.run_id}-{key.replace('.', '-')}"
    await b.topic(topic)
    producer = AIOKafkaProducer(
        **kafka_client_options(), bootstrap_servers=b.bootstrap, enable_idempotence=True, acks="all", linger_ms=0
    )
    consumer = AIOKafkaConsumer(
        **kafka_client_options(), bootstrap_servers=b.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    await producer.start()
    await consumer.start()
    latencies: list[float] = []
    futures: list[asyncio.Future[Any]] = []
    try:
        partitions = await partitions_of(b.bootstrap, [topic])
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)
        await producer.send_and_wait(topic, value=kb_json(-1, time.time()), key=b"warm-up")
        reader = asyncio.create_task(_read_latencies(consumer, latencies))

        async def emit(first: int, count: int) -> None:
            for seq in range(first, first + count):
                value = kb_json(seq, time.time())
                futures.append(await producer.send(topic, value=value, key=f"pt-{seq % b.args.keys:05d}".encode()))

        achieved = await pace(rate, b.sizes.latency_seconds, emit)
        await asyncio.gather(*futures)
        total = len(futures)

        async def all_read() -> bool:
            return len(latencies) >= total

        try:
            await wait_until(all_read, 30, "raw records to arrive")
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    finally:
        await consumer.stop()
        await producer.stop()
    note = f"linger 0, acks=all, at {achieved:,.0f}/s, {len(latencies):,} records"
    b.put(f"{key}.p50", percentile(latencies, 0.5) * 1000, note)
    b.put(f"{key}.p99", percentile(latencies, 0.99) * 1000, note)


async def _read_latencies(consumer: AIOKafkaConsumer, out: list[float]) -> None:
    """Arrival time minus the send time carried in the value; the warm-up record (seq -1) is left out."""
    while True:
        batch = await consumer.getmany(timeout_ms=100)
        now = time.time()
        for records in batch.values():
            for r in records:
                value = orjson.loads(r.value)
                if value["seq"] >= 0:
                    out.append(now - value["sent"])


async def pg_commits(b: Bench, dsn: str, connections: int, key: str) -> None:
    conns = [await asyncpg.connect(dsn) for _ in range(connections)]
    counts = [0] * connections
    seconds = b.sizes.pg_seconds
    try:
        for conn in conns:
            await conn.execute(ROW_INSERT, 0, ROW_PAYLOAD)  # prepare the statement before the clock starts
        end = time.perf_counter() + seconds

        async def run(i: int, conn: asyncpg.Connection[Any]) -> None:
            n = 0
            while time.perf_counter() < end:
                await conn.execute(ROW_INSERT, n, ROW_PAYLOAD)
                n += 1
            counts[i] = n

        started = time.perf_counter()
        await asyncio.gather(*(run(i, c) for i, c in enumerate(conns)))
        elapsed = time.perf_counter() - started
    finally:
        for conn in conns:
            await conn.close()
    b.put(key, sum(counts) / elapsed, f"autocommit, {seconds:g} s")


async def pg_statements(b: Bench, dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(ROW_INSERT, 0, ROW_PAYLOAD)
        rows, started = 0, time.perf_counter()
        end = started + b.sizes.pg_seconds
        while time.perf_counter() < end:
            async with conn.transaction():
                for _ in range(100):
                    await conn.execute(ROW_INSERT, rows, ROW_PAYLOAD)
                    rows += 1
        elapsed = time.perf_counter() - started
    finally:
        await conn.close()
    b.put("pg.stmt.1", rows / elapsed, "one round trip per row")


async def pgbench(b: Bench) -> None:
    binary = b.args.pgbench
    if shutil.which(binary) is None:
        raise FileNotFoundError(f"{binary} (install postgresql-15 or pass --pgbench)")
    dsn = await b.database("pgbench", kit=False, extra_sql=ROW_SQL)
    script = b.log_dir / "insert.sql"
    script.write_text(
        f"\\set k random(1, 1000000)\nINSERT INTO bench_rows (k, payload) VALUES (:k, '{ROW_PAYLOAD}');\n"
    )
    seconds = str(b.sizes.pgbench_seconds)
    n = b.args.pg_concurrency
    threads = str(min(n, os.cpu_count() or 1))
    await _pgbench(binary, "-i", "-s", "1", "-q", dsn)
    common = ["-M", "prepared", "-T", seconds]
    tps = await _pgbench(binary, "-n", *common, "-c", "1", "-j", "1", "-f", str(script), dsn)
    b.put("pgbench.insert.1", tps, f"-M prepared -T {seconds}")
    tps = await _pgbench(binary, "-n", *common, "-c", str(n), "-j", threads, "-f", str(script), dsn)
    b.put("pgbench.insert.n", tps, f"-M prepared -T {seconds} -j {threads}")
    tps = await _pgbench(binary, *common, "-c", str(n), "-j", threads, dsn)
    b.put("pgbench.tpcb.n", tps, f"scale 1, -M prepared -T {seconds} -j {threads}")


async def _pgbench(*argv: str) -> float:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"pgbench exited with {proc.returncode}: {text.strip()[-300:]}")
    if argv[1] == "-i":
        return 0.0
    match = re.search(r"tps = ([0-9.]+)", text)
    if match is None:
        raise RuntimeError(f"no tps in pgbench's output: {text.strip()[-300:]}")
    return float(match[1])


# ------------------------------------------------------------------------------------------------------------
# Outbox and relay


async def outbox_section(b: Bench) -> None:
    dsn = await b.database("outbox")
    prefix = await b.topics("outbox")
    events = Events(b.args.keys, b.run_id)
    await b.attempt(
        ["outbox.stage.tx", "outbox.stage.1"], "outbox staging", lambda: stage_rates(b, dsn, prefix, events)
    )
    await b.attempt(["outbox.relay"], "relay drain", lambda: relay_drain(b, dsn))
    rate = b.args.outbox_rate or b.args.load * min(
        b.value("outbox.relay") or 2000.0, b.value("outbox.stage.tx") or 2000.0
    )
    raw = functools.partial(raw_latency, b, rate, "kafka.lat")
    await b.attempt(["kafka.lat.p50", "kafka.lat.p99"], f"raw Kafka latency at {rate:,.0f}/s", raw)
    keys = ["outbox.lat.p50", "outbox.lat.p99"]
    await b.attempt(keys, "relay latency", lambda: relay_latency(b, dsn, prefix, events, rate))


async def stage_rates(b: Bench, dsn: str, prefix: str, events: Events) -> None:
    def topic_of(event_type: str) -> str:
        return prefix + topic_for(event_type)

    n, per_tx = b.sizes.outbox_events, b.args.stage_tx
    staged = events.batch(0, n)
    conn = await asyncpg.connect(dsn)
    try:
        meter = CpuMeter()
        with b.profiled("outbox-stage"):
            for start in range(0, n, per_tx):
                async with conn.transaction():
                    await outbox.stage(conn, staged[start : start + per_tx], topic_of)
        wall, cpu = meter.stop()
        keys_per_tx = min(per_tx, b.args.keys)
        b.put(
            "outbox.stage.tx", n / wall, f"{n:,} events, {keys_per_tx} keys per transaction; {meter.note(wall, cpu, n)}"
        )
        count, end = 0, time.perf_counter() + b.sizes.pg_seconds
        meter = CpuMeter()
        while time.perf_counter() < end:
            async with conn.transaction():
                await outbox.stage(conn, [events.make(n + count)], topic_of)
            count += 1
        wall, cpu = meter.stop()
        b.put("outbox.stage.1", count / wall, f"{count:,} transactions; {meter.note(wall, cpu, count)}")
    finally:
        await conn.close()


async def relay_drain(b: Bench, dsn: str) -> None:
    """The relay in this process, started on a backlog, until every row is marked sent."""
    conn = await asyncpg.connect(dsn)
    publisher = KafkaPublisher(b.bootstrap, **kafka_client_options())
    relay = OutboxRelay(dsn, publisher, service="bench", batch_size=b.args.relay_batch, sweep_interval=0.2)
    stop = asyncio.Event()
    try:
        backlog = int(await conn.fetchval("SELECT count(*) FROM hearth_outbox WHERE sent_at IS NULL"))
        meter = CpuMeter()
        with b.profiled("relay"):
            task = asyncio.create_task(relay.run(stop))

            async def drained() -> bool:
                return not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM hearth_outbox WHERE sent_at IS NULL)")

            try:
                await wait_until(drained, 120, "the relay to drain its backlog", every=0.05)
            finally:
                stop.set()
                await task
        wall, cpu = meter.stop()
        # From the first batch marked sent to the last: the producer's start-up is left out.
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE sent_at > lo) AS n, extract(epoch FROM max(sent_at) - min(sent_at)) AS s"
            " FROM hearth_outbox, (SELECT min(sent_at) AS lo FROM hearth_outbox) first"
        )
    finally:
        await publisher.stop()
        await conn.close()
    if row is None or not row["n"] or not row["s"]:
        raise RuntimeError(f"too few events for a rate: raise --outbox-events above --relay-batch ({backlog} sent)")
    rate = row["n"] / float(row["s"])
    b.put("outbox.relay", rate, f"batch {b.args.relay_batch}; {meter.note(wall, cpu, backlog)}")


async def relay_latency(b: Bench, dsn: str, prefix: str, events: Events, rate: float) -> None:
    """Stage at a paced rate here, relay in a worker process, a plain consumer here records the arrivals."""
    topic = prefix + SCREENED_TOPIC
    relay = b.worker("relay", "--dsn", dsn, "--bootstrap", b.bootstrap, "--batch", str(b.args.relay_batch))
    consumer = AIOKafkaConsumer(
        **kafka_client_options(), bootstrap_servers=b.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    await consumer.start()
    conn = await asyncpg.connect(dsn)
    committed: dict[str, float] = {}
    arrived: dict[str, float] = {}
    try:
        partitions = await partitions_of(b.bootstrap, [topic])
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)
        reader = asyncio.create_task(_read_arrivals(consumer, arrived))
        stager = Stager(conn, prefix, events, committed)
        await stager.stage(0, 10)  # warm-up: the relay leads and the producer is connected

        async def warm() -> bool:
            relay.check()
            return len(arrived) >= 10

        await wait_until(warm, 60, "the relay worker to publish the warm-up events")
        warm_ids = set(committed)
        achieved = await pace(rate, b.sizes.latency_seconds, stager.stage)

        async def all_arrived() -> bool:
            relay.check()
            return len(arrived) >= len(committed)

        try:
            await wait_until(all_arrived, 60, "every staged event to arrive")
        finally:
            b.peak("mem.relay", relay.peak_rss_mib(), "relay latency run")
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    finally:
        await relay.stop()
        await conn.close()
        await consumer.stop()
    latencies = [arrived[i] - committed[i] for i in committed if i not in warm_ids]
    note = f"at {achieved:,.0f}/s ({b.args.load:.0%} of max unless --outbox-rate), {len(latencies):,} events"
    b.put("outbox.lat.p50", percentile(latencies, 0.5) * 1000, note)
    b.put("outbox.lat.p99", percentile(latencies, 0.99) * 1000, note)


async def _read_arrivals(consumer: AIOKafkaConsumer, out: dict[str, float]) -> None:
    while True:
        batch = await consumer.getmany(timeout_ms=100)
        now = time.time()
        for records in batch.values():
            for r in records:
                out[orjson.loads(r.value)["id"]] = now


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


# ------------------------------------------------------------------------------------------------------------
# Inbox


async def inbox_section(b: Bench) -> None:
    prefix = await b.topics("inbox", dlq=True)
    events = Events(b.args.keys, b.run_id)
    n = b.sizes.inbox_events
    await b.attempt(
        [f"inbox.{x}" for x in b.args.inbox_batches], "inbox load", lambda: produce_events(b, prefix, events, n)
    )
    for batch in b.args.inbox_batches:
        await b.attempt([f"inbox.{batch}"], f"inbox batch {batch}", functools.partial(inbox_rate, b, prefix, batch))
        rate = functools.partial(inbox_db_rate, b, events, batch)
        await b.attempt([f"inbox.{batch}.db"], f"inbox batch {batch} without Kafka", rate)
    for batch in b.args.inbox_batches:
        keys = [f"inbox.{batch}.lat.p50", f"inbox.{batch}.lat.p99"]
        await b.attempt(keys, f"hop latency batch {batch}", functools.partial(hop_latency, b, events, batch))


async def produce_events(b: Bench, prefix: str, events: Events, n: int) -> None:
    producer = AIOKafkaProducer(
        **kafka_client_options(), bootstrap_servers=b.bootstrap, enable_idempotence=True, acks="all", linger_ms=5
    )
    await producer.start()
    try:
        headers = [("content-type", Event.CONTENT_TYPE.encode())]
        topic = prefix + SCREENED_TOPIC
        futures = []
        for e in events.batch(0, n):
            futures.append(await producer.send(topic, value=e.to_json(), key=e.partitionkey.encode(), headers=headers))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    b.say(f"inbox: {n:,} events on {prefix + SCREENED_TOPIC}")


async def inbox_rate(b: Bench, prefix: str, batch: int) -> None:
    """The kit's inbox behind a FastStream broker in this process, from the first record to the cap."""
    dsn = await b.database(f"inbox{batch}", extra_sql=EFFECTS_SQL)
    pool = await create_pool(dsn, max_size=3)
    dlq = KafkaPublisher(b.bootstrap, **kafka_client_options())
    uow = UnitOfWork(pool, CONSUMER_SERVICE, topic_prefix=prefix)
    dead_letters = DeadLetters(dlq, CONSUMER_SERVICE, topic_prefix=prefix)
    inbox = CountingInbox(uow, {SCREENED_TYPE: on_screened}, dead_letters)
    broker = make_broker(b.bootstrap)
    attach_inbox(broker, inbox, group_id=f"bench-{b.run_id}-inbox{batch}", batch_size=batch)
    n = b.sizes.inbox_events
    try:
        meter = CpuMeter()
        with b.profiled(f"inbox-{batch}"):
            await broker.start()
            end = time.monotonic() + b.sizes.inbox_seconds + 10  # group join and first fetch come first

            async def done() -> bool:
                first = await pool.fetchval("SELECT min(applied_at) FROM test_effects")
                capped = first is not None and time.time() - first.timestamp() > b.sizes.inbox_seconds
                count = await pool.fetchval("SELECT count(*) FROM test_effects")
                return bool(count >= n or capped or time.monotonic() > end)

            await wait_until(done, b.sizes.inbox_seconds + 60, "the inbox to settle the events", every=0.2)
            await broker.stop()
        wall, cpu = meter.stop()
        row = await pool.fetchrow(
            "SELECT count(*) AS n, count(DISTINCT event_id) AS d,"
            " extract(epoch FROM max(applied_at) - min(applied_at)) AS s FROM test_effects"
        )
    finally:
        with contextlib.suppress(Exception):
            await broker.stop()
        await dlq.stop()
        await pool.close()
    assert row is not None
    if row["n"] != row["d"]:
        raise RuntimeError(f"{row['n'] - row['d']} effects applied twice")
    if not row["n"] or not row["s"]:
        raise RuntimeError(f"only {row['n']} effects were applied")
    rate = (row["n"] - 1) / float(row["s"])
    mean = inbox.records / max(inbox.batches, 1)
    note = f"{row['n']:,} events, {mean:.1f} per batch on average; {meter.note(wall, cpu, row['n'])}"
    b.put(f"inbox.{batch}", rate, note)


class CountingInbox(Inbox):
    """The kit's inbox, counting the batches FastStream hands it (to tell the batch size really reached)."""

    batches = 0
    records = 0

    async def handle_batch(self, records: Sequence[ConsumedRecord]) -> Outcome:
        self.batches += 1
        self.records += len(records)
        return await super().handle_batch(records)


@dataclass(frozen=True)
class MemoryRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


async def inbox_db_rate(b: Bench, events: Events, batch: int) -> None:
    """Inbox.handle_batch on records already in memory: the kit's Postgres side without FastStream and Kafka."""
    dsn = await b.database(f"inboxdb{batch}", extra_sql=EFFECTS_SQL)
    pool = await create_pool(dsn, max_size=2)
    dlq = KafkaPublisher(b.bootstrap, **kafka_client_options())  # never used: every record is valid
    inbox = Inbox(UnitOfWork(pool, CONSUMER_SERVICE), {SCREENED_TYPE: on_screened}, DeadLetters(dlq, CONSUMER_SERVICE))
    n = b.sizes.inbox_events
    records = [
        MemoryRecord("bench", i % b.args.partitions, i, e.partitionkey.encode(), e.to_json())
        for i, e in enumerate(events.batch(0, n))
    ]
    settled = 0
    try:
        end = time.perf_counter() + b.sizes.inbox_seconds
        meter = CpuMeter()
        with b.profiled(f"inbox-db-{batch}"):
            for lo in range(0, n, batch):
                if time.perf_counter() > end:
                    break
                if await inbox.handle_batch(records[lo : lo + batch]) is not Outcome.APPLIED:
                    raise RuntimeError("a batch was not applied (see the log)")
                settled += len(records[lo : lo + batch])
        wall, cpu = meter.stop()
    finally:
        await dlq.stop()
        await pool.close()
    b.put(f"inbox.{batch}.db", settled / wall, f"{settled:,} events; {meter.note(wall, cpu, settled)}")


async def hop_latency(b: Bench, events: Events, batch: int) -> None:
    """Producer commit (outbox) → relay process → Kafka → inbox consumer process → effect committed."""
    limits_known = [b.value(f"inbox.{batch}"), b.value("outbox.relay"), b.value("outbox.stage.tx")]
    known = [v for v in limits_known if v]
    rate = b.args.hop_rate or b.args.load * (min(known) if known else 200.0)
    raw = functools.partial(raw_latency, b, rate, f"kafka.lat.{batch}")
    await b.attempt([f"kafka.lat.{batch}.p50", f"kafka.lat.{batch}.p99"], f"raw Kafka latency at {rate:,.0f}/s", raw)
    prefix = await b.topics(f"hop{batch}", dlq=True)
    producer_dsn = await b.database(f"hop{batch}_producer")
    consumer_dsn = await b.database(f"hop{batch}_consumer", extra_sql=EFFECTS_SQL)
    relay = b.worker("relay", "--dsn", producer_dsn, "--bootstrap", b.bootstrap, "--batch", str(b.args.relay_batch))
    consumer = b.worker(
        "consumer", "--dsn", consumer_dsn, "--bootstrap", b.bootstrap, "--prefix", prefix,
        "--group", f"bench-{b.run_id}-hop{batch}", "--batch", str(batch),
    )  # fmt: skip
    producer_conn = await asyncpg.connect(producer_dsn)
    consumer_conn = await asyncpg.connect(consumer_dsn)
    committed: dict[str, float] = {}
    try:
        stager = Stager(producer_conn, prefix, events, committed)
        await stager.stage(0, 20)

        async def applied(expect: int) -> bool:
            relay.check()
            consumer.check()
            return bool(await consumer_conn.fetchval("SELECT count(*) FROM test_effects") >= expect)

        await wait_until(lambda: applied(20), 90, "the warm-up events to be applied")
        warm_ids = set(committed)
        achieved = await pace(rate, b.sizes.latency_seconds, stager.stage)
        await wait_until(lambda: applied(len(committed)), 90, "every event to be applied")
        b.peak("mem.relay", relay.peak_rss_mib(), f"hop run, batch {batch}")
        b.peak(f"mem.consumer.{batch}", consumer.peak_rss_mib(), f"hop run at {achieved:,.0f}/s")
        rows = await consumer_conn.fetch("SELECT event_id::text AS id, applied_at FROM test_effects")
    finally:
        await relay.stop()
        await consumer.stop()
        await producer_conn.close()
        await consumer_conn.close()
    latencies = [r["applied_at"].timestamp() - committed[r["id"]] for r in rows if r["id"] not in warm_ids]
    note = f"at {achieved:,.0f}/s ({b.args.load:.0%} of max unless --hop-rate), {len(latencies):,} events"
    b.rates[f"inbox.{batch}.lat"] = achieved
    b.put(f"inbox.{batch}.lat.p50", percentile(latencies, 0.5) * 1000, note)
    b.put(f"inbox.{batch}.lat.p99", percentile(latencies, 0.99) * 1000, note)


# ------------------------------------------------------------------------------------------------------------
# Timers


class BenchTimer(TimerPayload):
    kind: ClassVar[str] = TIMER_KIND
    key: str
    due: float  # epoch seconds: the handler writes its lateness from it


async def on_bench_timer(timer: BenchTimer, tx: Tx) -> None:
    await tx.conn.execute(
        "INSERT INTO bench_timer_fired (key, due_at) VALUES ($1, to_timestamp($2))", timer.key, timer.due
    )


async def copy_timers(conn: Connection, prefix: str, count: int, first_due: datetime, step: float) -> float:
    """COPY `count` timers due from `first_due`, `step` seconds apart, in chunks; returns the seconds COPY took."""
    spent = 0.0
    for lo in range(0, count, 100_000):
        rows = []
        for i in range(lo, min(count, lo + 100_000)):
            due = first_due + timedelta(seconds=i * step)
            key = f"{prefix}-{i}"
            payload = orjson.dumps({"key": key, "due": due.timestamp()}).decode()
            rows.append((key, TIMER_KIND, due, payload, None))
        started = time.perf_counter()
        await conn.copy_records_to_table(
            "hearth_timers", records=rows, columns=["key", "kind", "due_at", "payload", "correlation_id"]
        )
        spent += time.perf_counter() - started
    return spent


async def timers_section(b: Bench) -> None:
    dsn = await b.database("timers", extra_sql=TIMER_FIRED_SQL)
    pool = await create_pool(dsn, max_size=3)
    try:
        await b.attempt(["timers.copy", "timers.pending"], "timer bulk load", lambda: bulk_timers(b, pool))
        keys = ["timers.schedule.1", "timers.schedule.100"]
        await b.attempt(keys, "timer scheduling", lambda: schedule_timers(b, pool))
        for batch in b.args.fire_batches:
            fire = functools.partial(fire_timers, b, pool, batch)
            await b.attempt([f"timers.fire.{batch}"], f"timer firing {batch}", fire)
        keys = ["timers.late.p50", "timers.late.p99", "timers.interval"]
        await b.attempt(keys, "timer lateness", lambda: timer_lateness(b, pool))
    finally:
        await pool.close()


async def bulk_timers(b: Bench, pool: asyncpg.Pool) -> None:
    n = b.sizes.timers
    async with pool.acquire() as conn:
        spent = await copy_timers(conn, "pending", n, datetime.now(UTC) + timedelta(days=1), 0.001)
        await conn.execute("ANALYZE hearth_timers")
    b.put("timers.copy", n / spent, "hearth_timers with its primary key and due_at index; ANALYZE after")
    b.put("timers.pending", float(n), "due from tomorrow on: never fired by the runs below")


async def schedule_timers(b: Bench, pool: asyncpg.Pool) -> None:
    uow = UnitOfWork(pool, "bench")
    at = datetime.now(UTC) + timedelta(days=2)

    def schedule(keys: Sequence[str]) -> Callable[[Tx], Awaitable[None]]:
        async def fn(tx: Tx) -> None:
            for key in keys:
                tx.schedule(BenchTimer(key=key, due=at.timestamp()), at=at, key=key)

        return fn

    count, end = 0, time.perf_counter() + b.sizes.pg_seconds
    meter = CpuMeter()
    while time.perf_counter() < end:
        await uow.run(schedule([f"s1-{count}"]), EventContext.new())
        count += 1
    wall, cpu = meter.stop()
    b.put("timers.schedule.1", count / wall, f"{count:,} units of work; {meter.note(wall, cpu, count)}")
    n = b.sizes.timers_schedule
    meter = CpuMeter()
    with b.profiled("timers-schedule"):
        for lo in range(0, n, 100):
            await uow.run(schedule([f"s100-{i}" for i in range(lo, min(n, lo + 100))]), EventContext.new())
    wall, cpu = meter.stop()
    b.put("timers.schedule.100", n / wall, f"{n:,} timers; {meter.note(wall, cpu, n)}")


async def fire_timers(b: Bench, pool: asyncpg.Pool, batch: int) -> None:
    n = b.sizes.timers_fire
    async with pool.acquire() as conn:
        await copy_timers(conn, f"fire{batch}", n, datetime.now(UTC) - timedelta(minutes=10), 1e-6)
        pending = int(await conn.fetchval("SELECT count(*) FROM hearth_timers"))
    b.put("timers.pending", float(pending), "due from tomorrow on, plus the due ones fired below")
    poller = TimerPoller(UnitOfWork(pool, "bench"), timer_routes((BenchTimer, on_bench_timer)), batch_size=batch)
    fired = 0
    meter = CpuMeter()
    with b.profiled("timers-fire") if batch == b.args.fire_batches[0] else contextlib.nullcontext():
        while claimed := await poller.fire_due():
            fired += claimed
    wall, cpu = meter.stop()
    if fired != n:
        raise RuntimeError(f"fired {fired} of {n} due timers")
    b.put(f"timers.fire.{batch}", n / wall, f"{n:,} due among {pending:,}; {meter.note(wall, cpu, n)}")


async def timer_lateness(b: Bench, pool: asyncpg.Pool) -> None:
    rate, seconds, interval = b.args.timer_rate, b.sizes.timer_seconds, b.args.timer_interval
    n = int(rate * seconds)
    b.put("timers.interval", interval * 1000, f"batch {b.args.timer_batch}")
    first_due = datetime.now(UTC) + timedelta(seconds=2)
    async with pool.acquire() as conn:
        await copy_timers(conn, "late", n, first_due, 1 / rate)
    poller = TimerPoller(
        UnitOfWork(pool, "bench"),
        timer_routes((BenchTimer, on_bench_timer)),
        interval=interval,
        batch_size=b.args.timer_batch,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))

    async def all_fired() -> bool:
        return bool(await pool.fetchval("SELECT count(*) FROM bench_timer_fired WHERE key LIKE 'late-%'") >= n)

    try:
        await asyncio.sleep(max(0.0, (first_due - datetime.now(UTC)).total_seconds() + seconds))
        await wait_until(all_fired, 30 + interval, "every paced timer to fire", every=0.25)
    finally:
        stop.set()
        await task
    late = await pool.fetch(
        "SELECT extract(epoch FROM fired_at - due_at) AS s FROM bench_timer_fired WHERE key LIKE 'late-%'"
    )
    values = [float(r["s"]) for r in late]
    note = f"{len(values):,} timers over {seconds:g} s, poller batch {b.args.timer_batch}, every {interval:g} s"
    b.put("timers.late.p50", percentile(values, 0.5) * 1000, note)
    b.put("timers.late.p99", percentile(values, 0.99) * 1000, note)


# ------------------------------------------------------------------------------------------------------------
# Whole journey: `hearth.journey.bench` (a Stack of the four services and a simulator), when it exists


JOURNEY_UNITS = (("_per_min", "per min"), ("_ms", "ms"), ("_mib", "MiB"), ("_mb", "MB"), ("_s", "s"))


async def journey_section(b: Bench) -> None:
    # ----- HOOK: hearth.journey.bench.journey_figures(patients) -> dict[str, float] -------------------------
    row = b.by_key["journey"]
    try:
        module = importlib.import_module("hearth.journey.bench")
    except ModuleNotFoundError as exc:
        row.note = f"not measured: hearth.journey.bench is not importable ({exc})"
        b.say(row.note)
        return
    figures_of = getattr(module, "journey_figures", None)
    if figures_of is None:
        row.note = "not measured: hearth.journey.bench has no journey_figures(patients)"
        b.say(row.note)
        return
    # The journey's own Stack finds the infrastructure the way the tests do.
    os.environ.setdefault("HEARTH_KAFKA_BOOTSTRAP", b.bootstrap)
    os.environ.setdefault("HEARTH_PG_ADMIN_DSN", b.admin_dsn)
    patients = b.sizes.patients

    async def run() -> None:
        figures = cast(dict[str, float], await figures_of(patients))
        for name, value in figures.items():
            unit = next((u for suffix, u in JOURNEY_UNITS if name.lower().endswith(suffix)), "")
            limit = "mem.total" if unit == "MiB" else None
            b.add_row(Row(f"journey.{name}", "journey", name, unit, limit=limit))
            b.put(f"journey.{name}", float(value), f"{patients} patients")
        row.note = f"{patients} patients; figures below"

    await b.attempt(["journey"], "whole journey", run)
    # ----- end of the hook ---------------------------------------------------------------------------------


# ------------------------------------------------------------------------------------------------------------
# Machine description and the results file


def _meminfo_mib(field_name: str) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    return None


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _loadavg() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "unknown"


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "?"


@dataclass
class Machine:
    facts: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, value: str) -> None:
        self.facts.append((name, value))


async def describe(b: Bench, origin: str, kafka_version: str) -> Machine:
    m = Machine()
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    m.add("CPUs (nproc)", f"{affinity} ({_cpu_model()})")
    m.add("memory", f"{(_meminfo_mib('MemTotal') or 0) / 1024:.1f} GiB")
    m.add("kernel", f"{platform.system()} {platform.release()}")
    m.add("load average at start (1/5/15 min)", _loadavg())
    m.add("Python", f"{platform.python_implementation()} {platform.python_version()}")
    libs = ("aiokafka", "asyncpg", "faststream", "orjson", "pydantic")
    m.add("libraries", ", ".join(f"{p} {_version(p)}" for p in libs))
    m.add("Kafka", f"{kafka_version}, one broker+controller (KRaft), {origin}")
    conn = await asyncpg.connect(b.admin_dsn)
    try:
        version = await conn.fetchval("SHOW server_version")
        names = ("fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "wal_level", "max_connections")
        settings = [f"{n}={await conn.fetchval(f'SHOW {n}')}" for n in names]
    finally:
        await conn.close()
    m.add("PostgreSQL", f"{version}, {origin}")
    test_settings = "fsync=off" in settings and "synchronous_commit=off" in settings
    warning = (
        " — TEST SETTINGS of the throwaway local cluster (deploy/local/postgresql.conf): commits are not durable,"
        " so Postgres figures are higher than on a durable production setup"
        if test_settings
        else ""
    )
    m.add("PostgreSQL settings in force", ", ".join(settings) + warning)
    return m


def write_results(b: Bench, machine: Machine, cells: list[list[str]], elapsed: float, path: Path, command: str) -> None:
    sha = _git("rev-parse", "HEAD") or "unknown"
    dirty = " (with uncommitted changes)" if _git("status", "--porcelain") else ""
    s = b.sizes
    lines = [
        "# Benchmark results",
        "",
        "Written by `bench/run.py` (`make bench`) at the end of every run: the figures below are one run's,",
        "on the machine described. Nothing in the test suite asserts any timing.",
        "",
        f"- **Date**: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- **Commit**: `{sha}`{dirty}",
        f"- **Command**: `{command}`",
        f"- **Sizes**: {', '.join(f'{k}={v:,}' if isinstance(v, int) else f'{k}={v:g}' for k, v in vars(s).items())}"
        + (" (**--quick**: small sizes, not the figures of record)" if b.args.quick else ""),
        f"- **Sections run**: {', '.join(b.args.only)}; total {elapsed / 60:.1f} min;"
        f" load average at the end {_loadavg()}",
    ]
    if b.args.profile:
        lines.append(f"- **Profiled** (so slower than unprofiled): {', '.join(b.args.profile)}")
    lines += ["", "## Machine", ""]
    lines += [f"- **{name}**: {value}" for name, value in machine.facts]
    lines += [
        "",
        "## Figures",
        "",
        "ratio = figure ÷ limit. For rates, 1.00 means the kit goes as fast as the raw client does (a batched",
        "stage can exceed the single-statement limit it is compared with); for latencies, the ratio says how many",
        "times the raw Kafka hop (or the timer poll interval) the kit takes. Kit events are CloudEvents of about",
        "0.6 KB; the raw Kafka figures use 1 KB values.",
        "",
        render_markdown(cells),
        "",
        "## Batch settling in the inbox: before and after",
        "",
    ]
    lines += improvement_lines(b)
    lines += TIMER_IMPROVEMENT
    lines += ["", "## How each figure is measured", "", *METHOD]
    if b.failures:
        lines += ["", "## Not measured in this run", ""] + [f"- {f}" for f in b.failures]
    if b.profiles:
        lines += ["", "## Profiles", ""] + [
            f"- `{p.relative_to(REPO) if p.is_relative_to(REPO) else p}`" for p in b.profiles
        ]
    path.write_text("\n".join(lines) + "\n")


METHOD = [
    "- Every run makes its own databases (through the admin DSN) and topics (6 partitions unless --partitions),"
    " and drops them at the end. Kit stages marked in-process run in the bench process; the latency runs start"
    " the kit's worker processes (`python -m hearth.kit.testing.workers relay|consumer`), as a service would.",
    "- Raw Kafka: pipelined `send()` futures gathered (acks=all, idempotent), best of --rounds; `getmany` on"
    " assigned partitions, no group, no commits; latency with linger 0 at the rate of each kit latency run, the"
    " send time carried in the value.",
    "- Raw Postgres: asyncpg single-row INSERTs of a 100-byte row, autocommit, for --pg-seconds (1 connection,"
    " and --pg-concurrency connections in one process as the kit would); statements: 100 INSERTs per"
    " transaction; pgbench over TCP with the same row and `-M prepared`, plus the built-in TPC-B-like script"
    " at scale 1.",
    "- Outbox: `hearth.kit.outbox.stage` on one connection; the relay (`OutboxRelay`, batch --relay-batch) drains"
    " the backlog in-process, its rate taken from the `sent_at` marks of the first to the last batch. Latency:"
    " each paced tick stages its events in one transaction; staging commit (wall clock after COMMIT returns)"
    " to arrival at a plain consumer of the topic.",
    "- Inbox: records already on the topic, the kit's `Inbox` behind FastStream (`attach_inbox`) in-process,"
    ' rate from the effect rows\' `clock_timestamp()` (first to last), capped at --inbox-seconds. The "alone"'
    " row calls `Inbox.handle_batch` on records in memory: the difference to the row above is FastStream,"
    " Kafka fetches and offset commits. Hop: outbox commit in one database → relay process → Kafka → consumer"
    " process → effect row in another database; the effect time is `clock_timestamp()` in the transaction"
    " that commits it.",
    "- Timers: pending timers COPYed due from tomorrow on, so they stay pending; scheduling through"
    " `UnitOfWork.run` + `tx.schedule`; firing: due timers COPYed, then `TimerPoller.fire_due` until none is"
    " left; lateness: timers due at --timer-rate/s from 2 s ahead, `TimerPoller.run` with --timer-interval and"
    " --timer-batch, the handler writing `clock_timestamp()` next to the due time.",
    "- Memory: peak RSS (`getrusage` for this process, `VmHWM` from /proc for the worker processes, read just"
    " before they stop).",
    "- \"bench process CPU\" in the notes is this process's CPU time over the stage's wall time: near 100% means"
    " the stage is bound by Python on one core, well below means it waits on round trips.",
]


# Measured once, before and after the change (commit 4b78f66), with this script's default sizes on this machine;
# the "before" code no longer exists, so only the "after" appears in the table above.
TIMER_IMPROVEMENT = [
    "",
    "## Timer lateness: before and after",
    "",
    "The poller used to sleep a whole poll interval whenever a batch was not full, so a timer fired on average",
    "half an interval late; it now sleeps until the earliest pending timer is due (never longer than the",
    "interval). Same script, same sizes, interval 500 ms, 1,000 timers/s due:",
    "",
    "- lateness p50: 316 ms → 42 ms; p99: 556 ms → 74 ms",
    "- journey session-completed → integration-due p99 (5 patients, zero delays): 1,186 ms → 199 ms",
    "",
]


def improvement_lines(b: Bench) -> list[str]:
    batches = sorted(b.args.inbox_batches)
    if len(batches) < 2:
        return ["Only one consumer batch size ran (--inbox-batches)."]
    lo, hi = batches[0], batches[-1]
    out = [
        f"The inbox used to settle one record per transaction and offset commit (`consumer_batch_size={lo}`"
        " reproduces that); it now settles a whole `getmany` batch in one transaction, each record in a savepoint,"
        f" and commits the offsets once (`consumer_batch_size={hi}`, the default).",
        "",
    ]
    for label, key in (("throughput", ""), ("throughput without Kafka", ".db"), ("hop p50", ".lat.p50"),
                       ("hop p99", ".lat.p99")):  # fmt: skip
        before, after = b.value(f"inbox.{lo}{key}"), b.value(f"inbox.{hi}{key}")
        unit = b.by_key[f"inbox.{lo}{key}"].unit
        if not (before and after):
            out.append(f"- {label}: not measured in this run")
            continue
        at = {x: f" at {b.rates[f'inbox.{x}.lat']:,.0f}/s" if f"inbox.{x}.lat" in b.rates else "" for x in (lo, hi)}
        if unit != "ms":
            at = {lo: "", hi: ""}
        out.append(
            f"- {label}: batch {lo}{at[lo]} {fmt(before, unit)} {unit} → batch {hi}{at[hi]} {fmt(after, unit)} {unit}"
            f" (after/before {after / before:.2f})"
        )
    out.append(
        f"- each hop run goes at {b.args.load:.0%} of its own batch size's measured maximum, so the two hop runs"
        " carry different loads."
    )
    return out


# ------------------------------------------------------------------------------------------------------------
# Main


def _quiet_logging(log_dir: Path) -> None:
    """The kit's JSON log lines (and FastStream's, aiokafka's) go to a file, not between the figures."""
    configure_logging("bench", "WARNING")
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == "hearth-json":
            file_handler = logging.FileHandler(log_dir / "bench.log")
            file_handler.setFormatter(handler.formatter)
            root.removeHandler(handler)
            root.addHandler(file_handler)
    logging.getLogger("aiokafka").setLevel(logging.ERROR)


async def run_all(b: Bench, origin: str, kafka_version: str) -> Machine:
    machine = await describe(b, origin, kafka_version)
    b.put("mem.total", _meminfo_mib("MemTotal") or 0.0)
    sections: list[tuple[str, Callable[[Bench], Awaitable[None]]]] = [
        ("limits", limits),
        ("outbox", outbox_section),
        ("inbox", inbox_section),
        ("timers", timers_section),
        ("journey", journey_section),
    ]
    try:
        for name, fn in sections:
            if name not in b.args.only:
                for row in b.rows:
                    if row.section == name and row.value is None:
                        row.note = "not run (--only)"
                continue
            b.say(f"--- {name}")
            keys = [r.key for r in b.rows if r.section == name]
            await b.attempt(keys, name, functools.partial(fn, b), timeout=None)
    finally:
        await b.cleanup()
    b.put("mem.bench", own_peak_rss_mib(), "whole run, every in-process stage (getrusage)")
    return machine


def infra_endpoints() -> tuple[str, str, str, str, Callable[[], None]]:
    """(bootstrap, admin DSN, where they come from, Kafka version, release) — the local launcher's lease is
    released by `release`, which stops Kafka and Postgres only when this run started them and nobody else
    uses them."""
    bootstrap = os.environ.get("HEARTH_KAFKA_BOOTSTRAP", "").strip()
    admin = os.environ.get("HEARTH_PG_ADMIN_DSN", "").strip()
    if bootstrap and admin:
        return (
            bootstrap,
            admin,
            "given by HEARTH_KAFKA_BOOTSTRAP / HEARTH_PG_ADMIN_DSN",
            "Kafka (version unknown)",
            lambda: None,
        )
    script = launcher.load(REPO)
    state_dir = os.environ.get("HEARTH_STATE_DIR") or script.DEFAULT_STATE_DIR
    local = cast(LocalInfra, script.LocalInfra(state_dir))
    was_up = local.is_up()
    local.attach()
    os.environ.update(local.kafka_env())  # this process is the admin: topics, databases, every client
    jars = sorted(Path(getattr(local, "jar_cache", script.DEFAULT_JAR_CACHE)).glob("jars/kafka_2.13-*.jar"))
    version = f"Apache Kafka {jars[-1].stem.split('-', 1)[1]}" if jars else "Apache Kafka (version unknown)"
    origin = "local processes of deploy/local/infra.py" + (" (already up)" if was_up else " (started for this run)")

    def release() -> None:
        if was_up:
            # Found running: leave it running. The lease only kept a test run that ended meanwhile from
            # stopping it under this run; dropping it must not stop it either.
            (local.state_dir / "leases" / str(os.getpid())).unlink(missing_ok=True)
        else:
            local.detach()  # started here: stopped again, unless a test run has started using it since

    return local.kafka_bootstrap, local.pg_admin_dsn, origin, version, release


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join(["uv", "run", "python", "bench/run.py", *(sys.argv[1:] if argv is None else argv)])
    log_dir = Path(tempfile.mkdtemp(prefix="hearth-bench-"))
    _quiet_logging(log_dir)
    started = time.monotonic()
    bootstrap, admin_dsn, origin, kafka_version, release = infra_endpoints()
    try:
        b = Bench(args, bootstrap, admin_dsn, log_dir)
        b.say(f"sizes: {args.sizes}; logs in {log_dir}")
        machine = asyncio.run(run_all(b, origin, kafka_version))
    finally:
        release()
    elapsed = time.monotonic() - started
    cells = table(b.rows, b.by_key)
    print()
    print(render_text(cells))
    print()
    for name, value in machine.facts:
        print(f"{name}: {value}")
    print(f"total: {elapsed / 60:.1f} min")
    if not args.no_results:
        write_results(b, machine, cells, elapsed, args.out, command)
        print(f"written: {args.out}")
    if b.failures:
        print(f"{len(b.failures)} measurement(s) failed; tracebacks and logs in {log_dir}", file=sys.stderr)
        return 1
    shutil.rmtree(log_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
