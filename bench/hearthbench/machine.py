"""The machine's description: CPUs, memory, kernel, library versions, and the Kafka and Postgres in use."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import DescribeAclsRequest

from hearth.kit.settings import kafka_client_options

from .harness import Bench
from .memory import meminfo_mib


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs so far (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


async def until_quiet(*, busy_below: float = 0.1, for_seconds: int = 3, at_most: float = 120.0) -> tuple[float, float]:
    """Wait until the machine's CPUs are less than `busy_below` busy for `for_seconds` seconds in a row (what an
    earlier section left running — autovacuum, the broker deleting topics — has finished), at most `at_most`
    seconds.  Returns (seconds waited, busy share of the last second)."""
    started = time.monotonic()
    quiet = 0
    share = 1.0
    with contextlib.suppress(OSError):
        before = _cpu_ticks()
        while time.monotonic() - started < at_most:
            await asyncio.sleep(1.0)
            after = _cpu_ticks()
            share = (after[0] - before[0]) / max(1, after[1] - before[1])
            before = after
            quiet = quiet + 1 if share < busy_below else 0
            if quiet >= for_seconds:
                break
    return time.monotonic() - started, share


def loadavg() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "unknown"


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "?"


async def _broker_contents(bootstrap: str) -> str:
    """Topics, partitions and ACL bindings already on the broker: ones other runs left cost it on every metadata
    update, checkpoint and authorisation, so a broker that has piled them up measures slower."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **kafka_client_options())
    try:
        await admin.start()
        topics = [t for t in await admin.list_topics() if not t.startswith("__")]
        described = await admin.describe_topics(topics) if topics else []
        partitions = sum(len(t["partitions"]) for t in described)
        acls = "?"
        with contextlib.suppress(Exception):  # a broker without an authoriser has no ACLs to list
            found = await admin._send_request(DescribeAclsRequest(1, None, 1, None, None, 1, 1))  # any of each
            acls = f"{sum(len(a) for *_, a in found.resources):,}"
        return f"{len(topics):,} topics, {partitions:,} partitions, {acls} ACL bindings (other runs' leftovers count)"
    except Exception as exc:
        return f"unknown ({type(exc).__name__})"
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


@dataclass
class Machine:
    facts: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, value: str) -> None:
        self.facts.append((name, value))


def cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


async def describe(b: Bench, origin: str, kafka_version: str, pg_origin: str | None = None) -> Machine:
    m = Machine()
    m.add("CPUs (nproc)", f"{cpus()} ({_cpu_model()})")
    m.add("memory", f"{(meminfo_mib('MemTotal') or 0) / 1024:.1f} GiB")
    m.add("kernel", f"{platform.system()} {platform.release()}")
    m.add("load average at start (1/5/15 min)", loadavg())
    m.add("Python", f"{platform.python_implementation()} {platform.python_version()}")
    libs = ("aiokafka", "asyncpg", "faststream", "orjson", "pydantic", "uvloop")
    m.add("libraries", ", ".join(f"{p} {_version(p)}" for p in libs))
    loop = type(asyncio.get_running_loop())
    m.add("event loop", f"{loop.__module__}.{loop.__name__} (the services' loop: uvicorn runs them on uvloop)")
    m.add("Kafka", f"{kafka_version}, one broker+controller (KRaft), {origin}")
    m.add("Kafka holds at start", await _broker_contents(b.bootstrap))
    conn = await asyncpg.connect(b.admin_dsn)
    try:
        version = await conn.fetchval("SHOW server_version")
        names = ("fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "wal_level", "max_connections")
        settings = [f"{n}={await conn.fetchval(f'SHOW {n}')}" for n in names]
    finally:
        await conn.close()
    m.add("PostgreSQL", f"{version}, {pg_origin or origin}")
    test_settings = "fsync=off" in settings and "synchronous_commit=off" in settings
    warning = (
        " — TEST SETTINGS of the throwaway local cluster (deploy/local/postgresql.conf): commits are not durable,"
        " so Postgres figures are higher than on a durable production setup (`--durable` measures both)"
        if test_settings
        else ""
    )
    m.add("PostgreSQL settings in force", ", ".join(settings) + warning)
    return m
