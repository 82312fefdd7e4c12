"""Whole-journey figures for `make bench`, through all four services as processes without think time:

- **sustained**: patients arriving at a steady rate (1,000 a minute unless told otherwise, evenly spaced) for a
  while: how many finish per minute while they arrive (below the offered rate when the stack cannot keep up),
  p50/p99 of approval → box-shipped and p99 of session-completed → integration-due with zero configured delays,
  and the CPU each process spent meanwhile (each service, the simulator, the Kafka broker, the Postgres cluster):
  where the bottleneck is;
- **all at once**: `patients` starting together, the rate they get through at (the stack's capacity, a queue's
  latency);
- the peak RSS of each service process.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import psutil  # type: ignore[import-untyped]

from hearth.contracts import CATALOG
from hearth.kit.testing import launcher

from . import process_cpu
from .personas import cast
from .process_cpu import CpuWindow
from .run import Run, drive, running_journey, settle
from .simulator import Record
from .timings import Timings

# No waiting anywhere the configuration allows it: one check-in at the start, the window opening at the end.
ZERO = Timings(
    check_in_offsets=(0.0,),
    check_in_grace=2.0,
    auto_close_after=0.0,
    min_session_interval=0.0,
    integration_opens_after=0.01,  # the smallest the setting takes (it must be positive)
    integration_closes_after=30.0,
    dose_review_after=3600.0,
)


@dataclass(frozen=True)
class OnCluster:
    """The local launcher's Kafka with another Postgres cluster (a private one the bench started)."""

    local: Any
    pg_admin_dsn: str

    @property
    def kafka_bootstrap(self) -> str:
        return str(self.local.kafka_bootstrap)

    def kafka_service_env(self, service: str) -> dict[str, str]:
        return dict(self.local.kafka_service_env(service))


PER_MINUTE = 1000.0  # the sustained run's arrival rate: the goal of bench/README.md
SUSTAIN_SECONDS = 60.0


async def journey_figures(
    patients: int,
    *,
    admin_dsn: str | None = None,
    per_minute: float = PER_MINUTE,
    sustain_seconds: float = SUSTAIN_SECONDS,
) -> dict[str, float]:
    """The figures of a sustained run (`per_minute` for `sustain_seconds`) and of `patients` all at once, on one
    stack; on the Postgres cluster of `admin_dsn` when given, else on the local launcher's (whose Kafka it uses
    either way)."""
    script = launcher.load()
    local: Any = script.LocalInfra(script.DEFAULT_STATE_DIR)
    os.environ.update(local.kafka_env())
    infra: Any = OnCluster(local, admin_dsn) if admin_dsn else local
    arriving = round(per_minute * sustain_seconds / 60)
    people = _people(arriving + patients)
    logs = Path(tempfile.mkdtemp(prefix="hearth-bench-journey-"))  # kept: the services' logs of the run
    async with running_journey(infra, f"bench-{os.getpid()}.", logs, ZERO) as run:
        cpu = CpuWindow(await journey_pids(run, local, infra.pg_admin_dsn), alone={SIMULATOR})
        checkpoints = await checkpoints_of(infra.pg_admin_dsn)
        cpu.start()
        await drive(run, people[:arriving], ZERO, arrival_seconds=sustain_seconds, evenly=True)
        cpu_shares = cpu.stop()
        checkpoints = await checkpoints_of(infra.pg_admin_dsn) - checkpoints
        sustained = run.records
        started = asyncio.get_running_loop().time()
        await drive(run, people[arriving:], ZERO, arrival_seconds=0)
        elapsed = asyncio.get_running_loop().time() - started
        burst = run.records
        await settle(run, ZERO, timeout=30)
        rss = {name: _peak_rss_mib(s.proc.pid) for name, s in run.stack.services.items() if s.proc is not None}
        deadlocks = await deadlocks_of(infra.pg_admin_dsn, run.stack.dsns.values())
    by_patient = run.counter.by_patient
    figures = {
        f"{per_minute:,.0f} arriving a minute: patients finished per minute": finished_per_minute(sustained),
        f"{per_minute:,.0f} arriving a minute: patients not finished": float(_unfinished(sustained)),
    }
    figures |= _hops(by_patient, sustained, f"{per_minute:,.0f} arriving a minute: ")
    figures[f"{patients} at once: patients per minute"] = len(burst) / elapsed * 60
    figures |= _hops(by_patient, burst, f"{patients} at once: ")
    figures["Postgres deadlocks in the services' databases"] = float(deadlocks)
    figures[f"{per_minute:,.0f} arriving a minute: Postgres checkpoints meanwhile"] = float(checkpoints)
    figures |= {f"{name} peak RSS MiB": value for name, value in rss.items()}
    figures |= process_cpu.figures(cpu_shares)
    return figures


async def deadlocks_of(admin_dsn: str, dsns: Iterable[str]) -> int:
    """Deadlocks Postgres broke (by aborting a transaction, retried by the services) in these databases so far;
    each one stalled the transactions in it for `deadlock_timeout`. Counted as each backend reports its
    statistics (within about a second of going idle)."""
    names = [urlsplit(dsn).path.lstrip("/") for dsn in dsns]
    conn = await asyncpg.connect(admin_dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT coalesce(sum(deadlocks), 0) FROM pg_stat_database WHERE datname = ANY($1)", names
            )
        )
    finally:
        await conn.close()


async def checkpoints_of(admin_dsn: str) -> int:
    """Checkpoints the cluster has made so far, timed or requested (each writes every dirty page: with fsync on,
    the commits of its last seconds wait for the disk)."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        return int(await conn.fetchval("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"))
    finally:
        await conn.close()


def _people(n: int) -> list[Any]:
    return [
        replace(p, sessions=1, skipped_check_ins=(), skips_integration=True) for p in cast(n, seed=101, check_ins=1)
    ]


def finished_per_minute(records: Sequence[Record]) -> float:
    """Journeys finished per minute between the first patient's arrival and the last one's: the rate the stack
    keeps up with while patients keep arriving (the tail after the last arrival is latency, not throughput).
    Below the arrival rate when a queue builds."""
    if len(records) < 2:
        return float("nan")
    first, last = min(r.started for r in records), max(r.started for r in records)
    done = sum(1 for r in records if r.error is None and first <= r.finished <= last)
    return done / (last - first) * 60 if last > first else float("nan")


def _unfinished(records: Sequence[Record]) -> int:
    return sum(1 for r in records if r.error is not None)


def _hops(by_patient: dict[str, list[Any]], records: Sequence[Record], label: str) -> dict[str, float]:
    ids = {r.persona.patient_id for r in records}
    mine = {pid: events for pid, events in by_patient.items() if pid in ids}
    shipped = _gaps(mine, "approved", "box-shipped")
    # Part of approval → box-shipped is the simulated patient's own: from the order's creation to its finding it.
    found = [r.order_found_after * 1000 for r in records if r.order_found_after is not None]
    return {
        f"{label}approval to box-shipped p50 ms": _p50(shipped),
        f"{label}approval to box-shipped p99 ms": _p99(shipped),
        f"{label}order created to found by the simulated patient p50 ms": _p50(found),
        f"{label}order created to found by the simulated patient p99 ms": _p99(found),
        f"{label}session-completed to integration-due p99 ms": _p99(
            _gaps(mine, "session-completed", "integration-due")
        ),
    }


SIMULATOR = "simulator"  # this process: the simulated patients' HTTP calls and the event counter


async def journey_pids(run: Run, local: Any, admin_dsn: str) -> dict[str, int | None]:
    """The processes whose CPU a run's figures show: the services, this process, the broker, the cluster."""
    pids: dict[str, int | None] = {name: s.proc.pid for name, s in run.stack.services.items() if s.proc is not None}
    pids[SIMULATOR] = os.getpid()
    pids["kafka broker"] = local.kafka_pid()
    pids["postgres cluster"] = await postmaster_pid(admin_dsn)
    return pids


async def postmaster_pid(admin_dsn: str) -> int | None:
    """The cluster's postmaster: the parent of this session's backend (a local cluster only)."""
    conn = await asyncpg.connect(admin_dsn)
    try:  # while the session lasts: its backend is gone once it closes
        return int(psutil.Process(int(await conn.fetchval("SELECT pg_backend_pid()"))).ppid())
    except psutil.Error:
        return None
    finally:
        await conn.close()


def _gaps(by_patient: dict[str, list[Any]], first: str, then: str) -> list[float]:
    gaps = []
    for events in by_patient.values():
        a = [e for e in events if CATALOG[e.type].name == first]
        b = [e for e in events if CATALOG[e.type].name == then]
        if a and b:
            gaps.append((min(e.time for e in b) - min(e.time for e in a)).total_seconds() * 1000)
    return gaps


def _p50(values: list[float]) -> float:
    return sorted(values)[len(values) // 2] if values else float("nan")


def _p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
