"""The outbox relay: publishes staged events in id order and marks them sent.

One relay per database is active at a time (a session advisory lock held on its own connection); the others
stand by and take over when that connection dies.  It wakes on NOTIFY after each commit and sweeps on a timer in
case a notification was missed.  A crash between publish and mark re-sends the unmarked rows: the wire may carry
a duplicate, never a gap, and each partition still sees a key's events in order; consumers dedupe by event id.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

import asyncpg
import orjson

from . import metrics, telemetry
from .aio import sleep_or_stop, wait_any
from .db import TRANSIENT_DB_ERRORS, Connection, backoff_delays, is_transient
from .dead_letters import LETTERS, DeadLetterPublisher
from .logging import get_logger
from .outbox import CHANNEL
from .publisher import KafkaPublisher, PermanentPublishError, PublishError, Record

log = get_logger(__name__)

LEADER_LOCK = 0x6F7574626F78  # "outbox"
_RETRYABLE: tuple[type[Exception], ...] = (PublishError, *TRANSIENT_DB_ERRORS)


class OutboxRelay:
    def __init__(
        self,
        dsn: str,
        publisher: KafkaPublisher,
        *,
        service: str,
        batch_size: int = 500,
        sweep_interval: float = 1.0,
        standby_interval: float = 2.0,
        retention: timedelta = timedelta(days=7),
        prune_interval: float = 300.0,
        dead_letters: DeadLetterPublisher | None = None,
        inbox_retention: timedelta = timedelta(days=30),
        idempotency_retention: timedelta = timedelta(days=7),
    ) -> None:
        self._dsn = dsn
        self._publisher = publisher
        self._service = service
        self._batch_size = batch_size
        self._sweep_interval = sweep_interval
        self._letters_waiting = False
        self._standby_interval = standby_interval
        self._retention = retention
        self._prune_interval = prune_interval
        self._dead_letters = dead_letters
        self._inbox_retention = inbox_retention
        self._idempotency_retention = idempotency_retention
        self._wake = asyncio.Event()
        self.is_leader = False
        # Since when (loop time) every publish has failed, and why: /readyz reports it (brokers lost, fewer
        # in-sync replicas than min.insync.replicas); None while publishing works or nothing waits.
        self.failing_since: float | None = None
        self.failure = ""

    async def run(self, stop: asyncio.Event) -> None:
        next_delay = backoff_delays(cap=5.0)
        while not stop.is_set():
            try:
                await self._lead(stop)
                next_delay = backoff_delays(cap=5.0)
            except PermanentPublishError as exc:
                # An outbox event is a committed fact: it is never dropped.  The broker refusing it for good
                # (a topic ACL missing, a limit lowered) needs an operator, so it is loud, counted, and retried.
                self._publish_failed(exc)
                delay = next_delay()
                metrics.PUBLISH_REFUSED.labels(self._service).inc()
                log.error("outbox_publish_refused", cause=str(exc)[:500], retry_in=round(delay, 2))
                await sleep_or_stop(stop, delay)
            except _RETRYABLE as exc:
                if isinstance(exc, PublishError):
                    self._publish_failed(exc)
                delay = next_delay()
                log.warning("outbox_relay_retry", error=f"{type(exc).__name__}: {exc}", retry_in=round(delay, 2))
                await sleep_or_stop(stop, delay)
            except Exception:
                # A bug must not silently end publishing for the life of the process: log it and try again.
                delay = next_delay()
                log.exception("outbox_relay_failed", retry_in=round(delay, 2))
                await sleep_or_stop(stop, delay)

    def _publish_failed(self, exc: PublishError) -> None:
        if self.failing_since is None:
            self.failing_since = asyncio.get_running_loop().time()
        self.failure = str(exc)[:300]

    def publishing_problem(self) -> str | None:
        """Why the outbox is not being published (for /readyz), or None while it is."""
        if self.failing_since is None:
            return None
        seconds = asyncio.get_running_loop().time() - self.failing_since
        return f"publishing to Kafka has failed for {seconds:.0f} s, events wait in the outbox: {self.failure}"

    async def _lead(self, stop: asyncio.Event) -> None:
        # The application name shows operators (and tests) which process leads.
        conn: Connection = await asyncpg.connect(
            self._dsn, server_settings={"application_name": f"{self._service}-outbox-relay-{os.getpid()}"}
        )
        try:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK):
                self.failing_since = None  # another process publishes: its readiness tells
                await sleep_or_stop(stop, self._standby_interval)
                return
            self.is_leader = True
            log.info("outbox_relay_leading", service=self._service)
            await conn.add_listener(CHANNEL, self._notified)
            loop = asyncio.get_running_loop()
            next_prune = next_upkeep = loop.time()
            while not stop.is_set():
                self._wake.clear()
                while await self.publish_batch(conn) == self._batch_size:
                    pass
                # Once per sweep, not per wake-up: a busy service wakes the relay on nearly every commit, and
                # letters and the backlog gauge can wait a sweep (two statements saved per wake-up).
                if self._letters_waiting or loop.time() >= next_upkeep:
                    self._letters_waiting = False
                    await self._publish_letters(conn)
                    await self._report_backlog(conn)
                    next_upkeep = loop.time() + self._sweep_interval
                if loop.time() >= next_prune:
                    await self.prune(conn)
                    next_prune = loop.time() + self._prune_interval
                await wait_any(self._sweep_interval, stop, self._wake)
            # Flush on the way out: what was committed before SIGTERM leaves before the process does.
            while await self.publish_batch(conn) == self._batch_size:
                pass
            await self._publish_letters(conn)
        finally:
            self.is_leader = False
            await _close_quietly(conn)

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        if payload == LETTERS:
            self._letters_waiting = True
        self._wake.set()

    async def publish_batch(self, conn: Connection) -> int:
        rows = await conn.fetch(
            "SELECT id, topic, key, payload, headers FROM hearth_outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1",
            self._batch_size,
        )
        if not rows:
            return 0
        records = [
            Record(
                topic=r["topic"],
                key=r["key"].encode(),
                value=bytes(r["payload"]),
                headers=[(k, str(v).encode()) for k, v in orjson.loads(r["headers"]).items()],
            )
            for r in rows
        ]
        with telemetry.publishing(records):
            await self._publisher.send_all(records)
        await conn.execute(
            "UPDATE hearth_outbox SET sent_at = clock_timestamp() WHERE id = ANY($1::bigint[])",
            [r["id"] for r in rows],
        )
        self.failing_since = None
        metrics.OUTBOX_PUBLISHED.labels(self._service).inc(len(rows))
        return len(rows)

    async def _publish_letters(self, conn: Connection) -> None:
        if self._dead_letters is not None:
            while await self._dead_letters.publish_pending(conn) > 0:
                pass

    async def prune(self, conn: Connection) -> int:
        """Delete what has served its purpose: sent outbox rows, inbox ids older than any redelivery (the
        retention must exceed the topics' retention, or a restored database could apply an event twice) and
        idempotency keys older than a client's retry window."""
        deleted = 0
        for sql, keep in (
            ("DELETE FROM hearth_outbox WHERE sent_at < clock_timestamp() - $1::interval", self._retention),
            ("DELETE FROM hearth_inbox WHERE processed_at < clock_timestamp() - $1::interval", self._inbox_retention),
            (
                "DELETE FROM hearth_idempotency WHERE created_at < clock_timestamp() - $1::interval",
                self._idempotency_retention,
            ),
        ):
            count = await conn.fetchval(f"WITH gone AS ({sql} RETURNING 1) SELECT count(*) FROM gone", keep)
            deleted += int(count or 0)
        return deleted

    async def _report_backlog(self, conn: Connection) -> None:
        row = await conn.fetchrow(
            "SELECT count(*) AS n, extract(epoch FROM clock_timestamp() - min(created_at)) AS age"
            " FROM hearth_outbox WHERE sent_at IS NULL"
        )
        metrics.OUTBOX_BACKLOG.labels(self._service).set(row["n"] if row else 0)
        metrics.OUTBOX_OLDEST_AGE.labels(self._service).set(float(row["age"] or 0) if row else 0.0)


async def _close_quietly(conn: Connection) -> None:
    try:
        await asyncio.wait_for(conn.close(), 5.0)
    except Exception as exc:
        if not is_transient(exc):
            log.warning("outbox_relay_close_failed", error=type(exc).__name__)
        conn.terminate()
