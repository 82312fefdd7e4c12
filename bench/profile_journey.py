"""Where the whole journey's time goes: the bench's journey (`hearth.journey.bench`) with py-spy sampling each of
the four service processes and the simulator's own process while the patients are driven, and the CPU seconds
each process spent meanwhile.

    uv run python bench/profile_journey.py --patients 300 --label before

writes bench/profiles/journey-<label>-<process>.svg (flame graphs; idle time is not sampled) and prints the
figures the bench reports plus CPU per patient of each process.  Run as root (py-spy attaches to other
processes).  Profiling costs the sampled processes some CPU: compare figures of runs made the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil  # type: ignore[import-untyped]
import uvloop

from hearth.journey import client
from hearth.journey.bench import SIMULATOR, ZERO, _gaps, _p50, _p99, deadlocks_of, journey_pids
from hearth.journey.personas import cast
from hearth.journey.process_cpu import CpuWindow
from hearth.journey.run import drive, running_journey, settle
from hearth.kit.testing import launcher

PROFILES = Path(__file__).resolve().parent / "profiles"
CALLS: list[tuple[str, str, float, int]] = []  # (service, method and path shape, seconds, status or 0)


def _record_calls() -> None:
    """Time every request the simulator makes, by service and path shape (ids replaced by `{}`)."""
    send = client.Api._send

    async def timed(self: client.Api, method: str, service: str, path: str, *args: Any, **kwargs: Any) -> Any:
        shape = f"{method} " + "/".join("{}" if any(c.isdigit() for c in part) else part for part in path.split("/"))
        started = asyncio.get_running_loop().time()
        status = 0
        try:
            response = await send(self, method, service, path, *args, **kwargs)
            status = response.status_code
            return response
        except client.Refused as refused:
            status = refused.status
            raise
        finally:
            CALLS.append((service, shape, asyncio.get_running_loop().time() - started, status))

    client.Api._send = timed  # type: ignore[method-assign]


def _spy(pid: int, out: Path, rate: int, raw: bool) -> subprocess.Popen[bytes]:
    beside = Path(sys.executable).with_name("py-spy")  # the venv's, when it is not on PATH
    py_spy = str(beside) if beside.exists() else shutil.which("py-spy") or "py-spy"
    return subprocess.Popen(
        [py_spy, "record", "--pid", str(pid), "--rate", str(rate), "--nonblocking", "-o", str(out)]
        + (["--format", "raw"] if raw else []),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def main(patients: int, label: str, rate: int, spy: bool, per_minute: float, raw: bool) -> None:
    script = launcher.load()
    infra: Any = script.LocalInfra(script.DEFAULT_STATE_DIR)
    os.environ.update(infra.kafka_env())
    people = [
        replace(p, sessions=1, skipped_check_ins=(), skips_integration=True)
        for p in cast(patients, seed=101, check_ins=1)
    ]
    logs = Path(tempfile.mkdtemp(prefix="hearth-profile-journey-"))
    PROFILES.mkdir(exist_ok=True)
    async with running_journey(infra, f"prof-{os.getpid()}.", logs, ZERO) as run:
        pids = {name: s.proc.pid for name, s in run.stack.services.items() if s.proc is not None}
        pids["simulator"] = os.getpid()
        procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        suffix = "txt" if raw else "svg"
        svgs = {name: PROFILES / f"journey-{label}-{name}.{suffix}" for name in pids}
        spies = {name: _spy(pid, svgs[name], rate, raw) for name, pid in pids.items() if spy}
        cpu0 = {name: sum(p.cpu_times()[:2]) for name, p in procs.items()}
        window = CpuWindow(await journey_pids(run, infra, infra.pg_admin_dsn), alone={SIMULATOR})
        window.start()
        loop = asyncio.get_running_loop()
        started = loop.time()
        statements = await _statements_reset(infra.pg_admin_dsn)
        sampling = asyncio.create_task(_sample_backends(infra.pg_admin_dsn, run.stack))
        await drive(run, people, ZERO, arrival_seconds=patients / per_minute * 60 if per_minute else 0, evenly=True)
        sampling.cancel()
        states = await sampling
        elapsed = loop.time() - started
        served = await _served(run.stack)
        await asyncio.sleep(1.5)  # the backends report their statistics (deadlocks) within a second of idling
        served.append(
            f"deadlocks   {await deadlocks_of(infra.pg_admin_dsn, run.stack.dsns.values())} in the run's databases"
        )
        if statements:
            statements = await _statements(infra.pg_admin_dsn, run.stack, patients)
        cpu = {name: sum(p.cpu_times()[:2]) - cpu0[name] for name, p in procs.items()}
        cpu |= {s.name: s.seconds for s in window.stop() if s.name not in cpu}  # the broker and the cluster
        for proc in spies.values():
            proc.send_signal(signal.SIGINT)
        for name, proc in spies.items():
            _, err = await asyncio.to_thread(proc.communicate)
            if proc.returncode:
                print(f"py-spy on {name} exited {proc.returncode}: {err.decode()[-300:]}")
        await settle(run, ZERO, timeout=30)
    shipped = _gaps(run.counter.by_patient, "approved", "box-shipped")
    due = _gaps(run.counter.by_patient, "session-completed", "integration-due")
    failures = [r.error for r in run.records if r.error]
    print(f"label {label}: {patients} patients in {elapsed:.1f} s, load average {os.getloadavg()}")
    print(f"  patients per minute {len(run.records) / elapsed * 60:.1f}; failures {len(failures)} {failures[:3]}")
    print(f"  approval to box-shipped p50 {_p50(shipped):.0f} ms, p99 {_p99(shipped):.0f} ms")
    print(f"  session-completed to integration-due p50 {_p50(due):.0f} ms, p99 {_p99(due):.0f} ms")
    found = [r.order_found_after * 1000 for r in run.records if r.order_found_after is not None]
    print(f"  order created to found by the simulated patient p50 {_p50(found):.0f} ms, p99 {_p99(found):.0f} ms")
    total = sum(cpu.values())
    for name, seconds in cpu.items():
        share = seconds / elapsed
        per_patient = seconds / patients * 1000
        print(f"  CPU {name:12s} {seconds:6.1f} s = {share:4.0%} of one core, {per_patient:5.0f} ms/patient")
    by: dict[tuple[str, str, int], list[float]] = {}
    for service, shape, seconds, status in CALLS:
        by.setdefault((service, shape, status), []).append(seconds * 1000)
    for (service, shape, status), ms in sorted(by.items(), key=lambda kv: -sum(kv[1])):
        figures = f"n={len(ms):5d} p50 {_p50(ms):7.1f} ms max {max(ms):7.0f} ms"
        print(f"  HTTP {service:11s} {shape:45s} {status:3d} {figures}")
    for line in states:
        print(f"  postgres {line}")
    for line in served:
        print(f"  served {line}")
    for line in statements:
        print(f"  statements {line}")
    print(f"  CPU all          {total:6.1f} s = {total / elapsed:4.0%} of one core (2 cores: 200%)")


async def _sample_backends(admin_dsn: str, stack: Any) -> list[str]:
    """Every 20 ms: what each of the run's Postgres backends is doing (running, waiting on a lock, waiting for
    the service to send the next statement).  Returns the average number of backends in each state."""
    databases = [dsn.rsplit("/", 1)[1].split("?")[0] for dsn in stack.dsns.values()]
    conn = await asyncpg.connect(admin_dsn)
    seen: Counter[str] = Counter()
    samples = 0
    try:
        while True:
            rows = await conn.fetch(
                "SELECT a.datname, a.state, coalesce(a.wait_event_type, 'CPU') || ':' || coalesce(a.wait_event, '-')"
                " AS wait, (SELECT l.objid FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted"
                " AND l.locktype = 'advisory' LIMIT 1) AS lock, CASE WHEN a.wait_event_type = 'Lock' THEN"
                " left(regexp_replace(a.query, '\\s+', ' ', 'g'), 70) ELSE '' END AS query FROM pg_stat_activity a"
                " WHERE a.datname = ANY($1::text[]) AND a.state <> 'idle' AND a.pid <> pg_backend_pid()",
                databases,
            )
            samples += 1
            for r in rows:
                service = next(n for n, d in stack.dsns.items() if d.rsplit("/", 1)[1].split("?")[0] == r["datname"])
                lock = "" if r["lock"] is None else f" advisory {r['lock']:#x}"
                seen[f"{service:11s} {r['state']} {r['wait']}{lock} {r['query']}".rstrip()] += 1
            await asyncio.sleep(0.02)
    except asyncio.CancelledError:
        pass
    finally:
        await conn.close()
    return [f"{n / max(samples, 1):6.2f} backends {state}" for state, n in sorted(seen.items())]


async def _statements_reset(admin_dsn: str) -> list[str]:
    """Start counting statements afresh; [] when pg_stat_statements is not loaded (then nothing is reported)."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await conn.execute("SELECT pg_stat_statements_reset()")
        return ["counting"]
    except asyncpg.PostgresError as exc:
        print(f"no statement counts: {exc}")
        return []
    finally:
        await conn.close()


async def _statements(admin_dsn: str, stack: Any, patients: int) -> list[str]:
    """Statements per patient and the Postgres time they took, by service, the costliest first."""
    databases = {dsn.rsplit("/", 1)[1].split("?")[0]: name for name, dsn in stack.dsns.items()}
    conn = await asyncpg.connect(admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT d.datname, s.calls, s.total_exec_time, left(regexp_replace(s.query, '\\s+', ' ', 'g'), 90) AS q"
            " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = ANY($1::text[])",
            list(databases),
        )
    finally:
        await conn.close()
    lines, per_service = [], Counter[str]()
    for r in rows:
        per_service[databases[r["datname"]]] += r["calls"]
    for name, calls in per_service.most_common():
        lines.append(f"{name:11s} {calls / patients:6.1f} per patient (all statements)")
    for r in sorted(rows, key=lambda r: -r["total_exec_time"])[:40]:
        service = databases[r["datname"]]
        each = r["total_exec_time"] / max(r["calls"], 1) * 1000
        lines.append(f"{service:11s} {r['calls'] / patients:6.2f}/patient {each:7.0f} µs {r['q']}")
    return lines


async def _served(stack: Any) -> list[str]:
    """Time inside each service per route (its `hearth_http_request_seconds`) and per batch of consumed events
    (`hearth_handler_seconds`): the part of the simulator's wait that the service itself spent."""
    lines = []
    async with httpx.AsyncClient(timeout=10) as http:
        for name in stack.services:
            text = (await http.get(stack.url(name) + "/metrics")).text
            sums: dict[str, float] = {}
            counts: dict[str, float] = {}
            for line in text.splitlines():
                for metric in ("hearth_http_request_seconds", "hearth_handler_seconds"):
                    for suffix, into in (("_sum{", sums), ("_count{", counts)):
                        if line.startswith(metric + suffix):
                            labels, value = line[len(metric) + len(suffix) :].rsplit("} ", 1)
                            into[labels] = float(value)
            for labels, total in sorted(sums.items(), key=lambda kv: -kv[1]):
                n = counts.get(labels, 0)
                if n and total > 0.05:
                    lines.append(f"{name:11s} n={n:6.0f} mean {total / n * 1000:7.1f} ms total {total:6.1f} s {labels}")
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--label", default="run")
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--no-spy", action="store_true", help="figures and CPU only, no py-spy")
    parser.add_argument("--per-minute", type=float, default=0, help="patients arriving per minute (0: all at once)")
    parser.add_argument("--raw", action="store_true", help="py-spy's collapsed stacks (text) instead of SVG")
    args = parser.parse_args()
    _record_calls()
    uvloop.run(main(args.patients, args.label, args.rate, not args.no_spy, args.per_minute, args.raw))
