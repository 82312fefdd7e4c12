"""The inbox's Kafka side: one consumer group member per service process, over every topic it consumes.

Records are taken from aiokafka as raw `ConsumerRecord`s (key, value and headers as bytes) and handed to the
inbox in batches; nothing decodes them before the inbox does, so no record can make the batch fail before each
record was looked at on its own.  The position that counts is the one the inbox writes to the service's own
database with each batch's effects: on start and on every partition assignment the consumer seeks there, and a
retried batch is read again from its first record.  Kafka's committed offsets follow, for lag tooling only.

A partition whose database position Kafka no longer holds (retention deleted records this service never
applied) is never consumed from anywhere else: the service refuses to start, and a partition assigned later
with such a gap stays paused and makes `/readyz` fail.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from . import metrics, positions, record_batches, telemetry
from .aio import sleep_or_stop
from .db import TRANSIENT_DB_ERRORS, backoff_delays
from .dead_letters import ConsumedRecord
from .inbox import Inbox, Outcome
from .logging import get_logger
from .positions import PositionGap, PositionGapError
from .topics import partitions_of

log = get_logger(__name__)
record_batches.install()  # a batch aiokafka cannot unpack becomes letters, not a stuck partition

_TP = tuple[str, int]


class InboxConsumer:
    def __init__(
        self,
        inbox: Inbox,
        bootstrap: str,
        *,
        group_id: str,
        client: dict[str, Any] | None = None,
        batch_size: int = 100,
        fetch_wait_ms: int = 500,
        lag_interval: float = 15.0,
        kafka_commit_interval: float = 1.0,
    ) -> None:
        self._inbox = inbox
        self._bootstrap = bootstrap
        self._group_id = group_id
        self._client = client or {}
        self._batch_size = batch_size
        # How long the broker may hold a fetch when nothing is there: records end it as soon as they come, so
        # this only sets how often an idle consumer asks again (each ask costs the broker and this process
        # about a millisecond of CPU).
        self._fetch_wait_ms = fetch_wait_ms
        self._kafka_commit_interval = kafka_commit_interval
        self._consumer: AIOKafkaConsumer | None = None
        self._positioned: set[_TP] = set()
        self._unpositioned: set[_TP] = set()
        self._busy = asyncio.Lock()  # held while a batch is settled: revocation waits for it
        self._next_delay = backoff_delays(cap=5.0)
        self.gaps: dict[_TP, PositionGap] = {}
        self._to_commit: dict[TopicPartition, int] = {}
        self._committing: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._lag = _Lag(inbox.service, lag_interval)

    @property
    def healthy(self) -> bool:
        """False while a partition is held back by a position gap."""
        return not self.gaps

    async def start(self, *, give_up_after: float = 60.0) -> None:
        """Join the group; raises PositionGapError (and joins nothing) when the database position of any
        partition is outside what Kafka holds.  Kafka or the database not reachable yet (a stack starting
        together) is waited for, up to `give_up_after` seconds."""
        deadline = asyncio.get_running_loop().time() + give_up_after
        while True:
            try:
                return await self._start()
            except PositionGapError:
                raise
            except (KafkaError, *TRANSIENT_DB_ERRORS) as exc:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                delay = self._next_delay()
                error = f"{type(exc).__name__}: {exc}"[:300]
                log.warning("consumer_start_retry", error=error, retry_in=round(delay, 2))
                await asyncio.sleep(delay)

    async def _start(self) -> None:
        self._stopping.clear()
        topics = self._inbox.topics
        if not topics:
            return
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._batch_size,
            fetch_max_wait_ms=self._fetch_wait_ms,
            **self._client,
        )
        await consumer.start()
        try:
            gaps = await self._gaps(consumer, topics)
            if gaps:
                raise PositionGapError(gaps)
            consumer.subscribe(topics=topics, listener=_Rebalance(self))
        except BaseException:
            await consumer.stop()
            raise
        self._consumer = consumer

    async def stop(self) -> None:
        if self._consumer is not None:
            async with self._busy:
                consumer, self._consumer = self._consumer, None
                self._lag.forget_all()
            self._wake_committer()
            if self._committing is not None:
                await asyncio.wait([self._committing], timeout=5.0)
            await asyncio.wait_for(consumer.stop(), 10.0)

    async def run(self, stop: asyncio.Event) -> None:
        # Beside the loop, not in it: a handler stuck on a batch is when the lag matters most.
        refreshing = asyncio.create_task(self._refresh_lag(stop))
        try:
            await self._consume(stop)
        finally:
            refreshing.cancel()

    async def _refresh_lag(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if (consumer := self._consumer) is not None:
                await self._lag.refresh(consumer, self._positioned)
            await sleep_or_stop(stop, self._lag.interval)

    async def _consume(self, stop: asyncio.Event) -> None:
        while not stop.is_set() and self._consumer is not None:
            consumer = self._consumer
            try:
                if self._unpositioned:
                    await self._position(consumer)
                    continue
                batch = await consumer.getmany(timeout_ms=self._fetch_wait_ms, max_records=self._batch_size)
            except TRANSIENT_DB_ERRORS as exc:
                await self._pause_after(stop, exc)
                continue
            except Exception as exc:  # a broker hiccup (aiokafka retries itself); never end the loop
                await self._pause_after(stop, exc)
                continue
            records = [r for tp, rs in batch.items() if (tp.topic, tp.partition) in self._positioned for r in rs]
            if records:
                await self._settle(consumer, records)

    async def _settle(self, consumer: AIOKafkaConsumer, records: Sequence[ConsumedRecord]) -> None:
        async with self._busy:
            try:
                with telemetry.consuming(self._group_id, records):
                    outcome = await self._inbox.handle_batch(records)
            except Exception:
                # Not about one record (those are settled inside): a bug or an unexpected fault.  Nothing was
                # committed; read the batch again after a pause rather than move past it.
                log.exception("inbox_batch_failed")
                await asyncio.sleep(self._next_delay())
                outcome = Outcome.RETRY
            if outcome is Outcome.RETRY:
                for (topic, partition), first in _first_offsets(records).items():
                    if (topic, partition) in self._positioned:
                        consumer.seek(TopicPartition(topic, partition), first)
                return
        self._next_delay = backoff_delays(cap=5.0)
        settled = positions.next_offsets(records)
        self._lag.settled(consumer, settled)
        self._commit_later(consumer, settled)

    def _commit_later(self, consumer: AIOKafkaConsumer, after: dict[_TP, int]) -> None:
        """Kafka's view of the position, for lag dashboards only (the database's is the one that counts): sent
        in the background, the latest offsets coalesced, so no batch waits for a broker round trip, and at most
        one commit every `kafka_commit_interval` seconds (each is a write to `__consumer_offsets`); what settles
        meanwhile goes with the next one."""
        self._to_commit.update({TopicPartition(t, p): o for (t, p), o in after.items() if (t, p) in self._positioned})
        if self._to_commit and (self._committing is None or self._committing.done()):
            self._committing = asyncio.create_task(self._commit_pending(consumer))

    async def _commit_pending(self, consumer: AIOKafkaConsumer) -> None:
        while self._to_commit:
            offsets, self._to_commit = self._to_commit, {}
            await self._commit(consumer, offsets)
            if self._consumer is consumer:  # once stopping, what is left goes now, not after the interval
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._kafka_commit_interval)

    def _wake_committer(self) -> None:
        self._stopping.set()

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        if not offsets:
            return
        try:
            await asyncio.wait_for(consumer.commit(offsets), 5.0)
        except Exception as exc:  # a rebalance in progress, a broker restarting: the next batch commits again
            log.debug("kafka_commit_skipped", error=type(exc).__name__)

    async def _position(self, consumer: AIOKafkaConsumer) -> None:
        """Seek newly assigned partitions to the database's positions (the start when there is none) and
        resume them; partitions with a gap stay paused."""
        todo = sorted(self._unpositioned)
        tps = [TopicPartition(t, p) for t, p in todo]
        async with self._inbox.pool.acquire() as conn:
            stored = await positions.load(conn, self._inbox.consumer, sorted({t for t, _ in todo}))
        earliest = {(tp.topic, tp.partition): o for tp, o in (await consumer.beginning_offsets(tps)).items()}
        latest = {(tp.topic, tp.partition): o for tp, o in (await consumer.end_offsets(tps)).items()}
        wanted = {tp: stored[tp] for tp in todo if tp in stored}
        gaps = {(g.topic, g.partition): g for g in positions.find_gaps(wanted, earliest, latest)}
        assigned = {(tp.topic, tp.partition) for tp in consumer.assignment()}
        seeked: dict[TopicPartition, int] = {}
        for (topic, partition), tp in zip(todo, tps, strict=True):
            key = (topic, partition)
            self._unpositioned.discard(key)
            if key not in assigned:
                continue  # revoked meanwhile
            if key in gaps:
                self.gaps[key] = gaps[key]
                log.error("consumer_position_gap", detail=str(gaps[key]))
                continue
            self.gaps.pop(key, None)
            offset = wanted.get(key, earliest.get(key, 0))
            consumer.seek(tp, offset)
            self._positioned.add(key)
            consumer.resume(tp)
            seeked[tp] = offset
        metrics.CONSUMER_POSITION_FAULTS.labels(self._inbox.service).set(len(self.gaps))
        self._lag.positioned({(tp.topic, tp.partition): o for tp, o in seeked.items()}, latest)
        self._commit_later(consumer, {(tp.topic, tp.partition): o for tp, o in seeked.items()})  # for lag tools

    async def _gaps(self, consumer: AIOKafkaConsumer, topics: Sequence[str]) -> list[PositionGap]:
        async with self._inbox.pool.acquire() as conn:
            stored = await positions.load(conn, self._inbox.consumer, topics)
        if not stored:
            return []
        existing = set(await partitions_of(self._bootstrap, topics, self._client))
        tps = [TopicPartition(t, p) for t, p in stored if TopicPartition(t, p) in existing]
        earliest = {(tp.topic, tp.partition): o for tp, o in (await consumer.beginning_offsets(tps)).items()}
        latest = {(tp.topic, tp.partition): o for tp, o in (await consumer.end_offsets(tps)).items()}
        return positions.find_gaps(stored, earliest, latest)

    async def _pause_after(self, stop: asyncio.Event, exc: BaseException) -> None:
        delay = self._next_delay()
        log.warning("consumer_retry", error=f"{type(exc).__name__}: {exc}"[:300], retry_in=round(delay, 2))
        await sleep_or_stop(stop, delay)

    # Called by the rebalance listener.
    def _assigned(self, assigned: set[TopicPartition]) -> None:
        consumer = self._consumer
        for tp in assigned:
            key = (tp.topic, tp.partition)
            if key in self._positioned:
                continue
            self._unpositioned.add(key)
            if consumer is not None:
                consumer.pause(tp)

    async def _revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._busy:  # the batch in hand settles before its partitions go to another member
            for tp in revoked:
                key = (tp.topic, tp.partition)
                self._positioned.discard(key)
                self._unpositioned.discard(key)
                self.gaps.pop(key, None)
                self._lag.forget(key)


class _Lag:
    """`hearth_consumer_lag` of this member's partitions: the high watermark minus the next offset to settle.
    Kept as batches settle (from the watermark the last fetch brought) and, every `interval` seconds, from the
    broker's end offsets, so an idle consumer and a stopped producer still show a true figure."""

    def __init__(self, service: str, interval: float) -> None:
        self._service = service
        self.interval = interval
        self._next: dict[_TP, int] = {}

    def positioned(self, offsets: dict[_TP, int], latest: dict[_TP, int]) -> None:
        self._next.update(offsets)
        for key, offset in offsets.items():
            if key in latest:
                self._set(key, latest[key] - offset)

    def settled(self, consumer: AIOKafkaConsumer, after: dict[_TP, int]) -> None:
        for key, offset in after.items():
            if key not in self._next:
                continue  # revoked while the batch settled
            self._next[key] = offset
            highwater = consumer.highwater(TopicPartition(*key))
            if highwater is not None:
                self._set(key, highwater - offset)

    async def refresh(self, consumer: AIOKafkaConsumer, assigned: set[_TP]) -> None:
        tracked = [key for key in self._next if key in assigned]
        if not tracked:
            return
        try:
            ends = await consumer.end_offsets([TopicPartition(*key) for key in tracked])
        except Exception as exc:  # the next interval tries again; consuming goes on
            log.debug("consumer_lag_refresh_failed", error=type(exc).__name__)
            return
        for tp, end in ends.items():
            key = (tp.topic, tp.partition)
            if key in self._next:
                self._set(key, end - self._next[key])

    def forget(self, key: _TP) -> None:
        self._next.pop(key, None)
        try:
            metrics.CONSUMER_LAG.remove(self._service, key[0], str(key[1]))
        except KeyError:
            pass

    def forget_all(self) -> None:
        for key in list(self._next):
            self.forget(key)

    def _set(self, key: _TP, lag: int) -> None:
        metrics.CONSUMER_LAG.labels(self._service, key[0], str(key[1])).set(max(0, lag))


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    def __init__(self, owner: InboxConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._owner._revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._owner._assigned(assigned)


def _first_offsets(records: Sequence[ConsumedRecord]) -> dict[_TP, int]:
    first: dict[_TP, int] = {}
    for r in records:
        key = (r.topic, r.partition)
        first[key] = min(first.get(key, r.offset), r.offset)
    return first
