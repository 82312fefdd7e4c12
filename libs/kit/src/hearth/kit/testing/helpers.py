"""Helpers for tests of the kit and of the services: migrated databases, staged events, Kafka readers,
worker processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from hearth.contracts import Event, build_event, parse_event, topic_for
from hearth.contracts.events.screening import Screened

from .. import migrations, outbox
from ..settings import kafka_client_options
from ..topics import partitions_of


async def migrate_kit(dsn: str, extra_sql: str = "") -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await migrations.migrate(conn, migrations.kit_migrations())
        if extra_sql:
            await conn.execute(extra_sql)
    finally:
        await conn.close()


def screened_event(subject: str) -> Event[Screened]:
    return build_event(Screened.example(), subject=subject)


async def stage_screened(
    pool: asyncpg.Pool, keys: Sequence[str], per_key: int, *, prefix: str, chunk: int = 200
) -> dict[str, list[str]]:
    """Stage `per_key` events for each key, interleaved, committed `chunk` at a time; returns ids per key in
    commit order."""
    staged: dict[str, list[str]] = {k: [] for k in keys}
    events = [screened_event(k) for _ in range(per_key) for k in keys]
    for start in range(0, len(events), chunk):
        batch = events[start : start + chunk]
        async with pool.acquire() as conn, conn.transaction():
            await outbox.stage(conn, batch, lambda t: prefix + topic_for(t))
        for e in batch:
            staged[e.subject].append(str(e.id))
    return staged


@dataclass
class Received:
    """Records read from Kafka: every delivery, and the first delivery of each event id per key, in order."""

    deliveries: int = 0
    order: dict[str, list[str]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def add(self, key: str, event_id: str) -> None:
        self.deliveries += 1
        if event_id not in self.seen:
            self.seen.add(event_id)
            self.order.setdefault(key, []).append(event_id)


async def read_events(bootstrap: str, topics: Iterable[str], *, expect: int, timeout: float = 60.0) -> Received:
    """Read from the beginning until `expect` distinct events arrived (or the timeout passes)."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=f"reader-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **kafka_client_options(),
    )
    await consumer.start()
    received = Received()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(received.seen) < expect and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    event = parse_event(r.value)
                    received.add(r.key.decode(), str(event.id))
        # A little longer, to catch deliveries beyond the expected ones (duplicates).
        batch = await consumer.getmany(timeout_ms=1000)
        for records in batch.values():
            for r in records:
                received.add(r.key.decode(), str(parse_event(r.value).id))
    finally:
        await consumer.stop()
    return received


async def read_raw(bootstrap: str, topic: str, *, expect: int, timeout: float = 30.0) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"reader-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **kafka_client_options(),
    )
    await consumer.start()
    out: list[Any] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(out) < expect and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                out.extend(records)
    finally:
        await consumer.stop()
    return out


async def produce(bootstrap: str, records: Sequence[tuple[str, bytes | None, bytes | None]]) -> None:
    """Send (topic, key, value) records with the CloudEvents content type, pipelined."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=5, **kafka_client_options()
    )
    await producer.start()
    try:
        headers = [("content-type", Event.CONTENT_TYPE.encode())]
        futures = [await producer.send(t, value=v, key=k, headers=headers) for t, k, v in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def reset_group_to_earliest(bootstrap: str, group: str, topics: Sequence[str]) -> None:
    """Commit offset 0 on every partition for `group` (its members must be stopped)."""
    partitions = await partitions_of(bootstrap, topics)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, **kafka_client_options()
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.commit({tp: 0 for tp in partitions})
    finally:
        await consumer.stop()


async def group_lag(bootstrap: str, group: str, topics: Sequence[str]) -> int:
    """Records not yet committed by `group` on `topics`."""
    partitions = await partitions_of(bootstrap, topics)
    assert partitions, f"no partitions found for {topics}"
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, **kafka_client_options()
    )
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        lag = 0
        for tp in partitions:
            committed = await consumer.committed(tp)
            lag += ends[tp] - (committed or 0)
        return lag
    finally:
        await consumer.stop()


class ChildProcess:
    """A process a test starts and may SIGKILL (a crash) or SIGTERM (a graceful stop, SIGKILL after 30 s)."""

    proc: subprocess.Popen[bytes] | None = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Worker(ChildProcess):
    """A kit component in its own process (see `hearth.kit.testing.workers`)."""

    def __init__(self, role: str, *args: str) -> None:
        self.role = role
        self.args = list(args)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hearth.kit.testing.workers", self.role, *self.args],
            env=env,
        )
        return self


async def wait_for(predicate: Any, *, timeout: float = 60.0, interval: float = 0.2, what: str = "condition") -> Any:
    """Poll an async predicate until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {value!r})")
        await asyncio.sleep(interval)
