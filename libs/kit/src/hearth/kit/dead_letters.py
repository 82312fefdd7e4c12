"""Dead letters: records a service cannot accept, kept whole with why and from where.

A letter is written to the service's own database (`hearth_dead_letters`) in the transaction that settles the
batch around it, and published to `<service>.dlq` afterwards by the relay, so no Kafka I/O happens while a
consuming transaction holds its locks.  The topic is for operators and alerting; the row is what replay uses,
so a letter someone else wrote to the topic can never be replayed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from . import metrics
from .db import Connection
from .logging import get_logger
from .outbox import CHANNEL
from .publisher import KafkaPublisher, PermanentPublishError, Record

LETTERS = "letters"  # the payload of the relay's wake-up when letters were recorded

log = get_logger(__name__)

REASON = "hearth-dlq-reason"
ERROR = "hearth-dlq-error"
ORIGIN_TOPIC = "hearth-dlq-origin-topic"
ORIGIN_PARTITION = "hearth-dlq-origin-partition"
ORIGIN_OFFSET = "hearth-dlq-origin-offset"
CONSUMER = "hearth-dlq-consumer"
FAILED_AT = "hearth-dlq-failed-at"
LETTER_ID = "hearth-dlq-letter-id"
VALUE_SHA256 = "hearth-dlq-value-sha256"
VALUE_SIZE = "hearth-dlq-value-size"
TRUNCATED = "hearth-dlq-truncated"
HEADERS_DROPPED = "hearth-dlq-headers-dropped"
DLQ_HEADERS = frozenset(
    {
        REASON,
        ERROR,
        ORIGIN_TOPIC,
        ORIGIN_PARTITION,
        ORIGIN_OFFSET,
        CONSUMER,
        FAILED_AT,
        LETTER_ID,
        VALUE_SHA256,
        VALUE_SIZE,
        TRUNCATED,
        HEADERS_DROPPED,
    }
)

# Why a record was not accepted.  Every code is a permanent property of the record: transient faults (database
# or broker down) are retried and never become letters.
REASONS = (
    "contract",  # not a readable event: bytes, JSON, envelope or payload
    "wrong_topic",  # a valid event on a topic the catalog does not give its type
    "wrong_source",  # a valid event whose `source` is not its type's owner
    "unhandled_type",  # a valid event this service has no handler for
    "conflicting_duplicate",  # an event id already applied, with another payload
    "handler_failed",  # the handler kept failing on it
)

# Kafka's record overhead per header and per record, rounded up: the sizes below stay under the limit.
_PER_HEADER = 16
_PER_RECORD = 128
_MAX_KEY_BYTES = 1024
_MAX_ORIGINAL_HEADER_BYTES = 64 * 1024


class ConsumedRecord(Protocol):
    """What the kit needs of a consumed Kafka record (aiokafka's ConsumerRecord has it)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes | None]]: ...


@dataclass(frozen=True)
class StoredRecord:
    """A consumed record as the dead-letter table keeps it (and replay hands it back to the inbox); also a
    record in memory for tests and benchmarks of the inbox."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()


@dataclass(frozen=True)
class DeadLetterReason:
    code: str  # one of REASONS
    error: str


@dataclass(frozen=True)
class Letter:
    id: int
    consumer: str
    record: StoredRecord
    reason: DeadLetterReason
    created_at: datetime


def dlq_letter(letter: Letter, topic: str, *, max_bytes: int) -> Record:
    """The DLQ record of a letter, no larger than `max_bytes`: our headers first, then the key (cut to 1 KiB),
    the original headers while they fit in 64 KiB, and as much of the value as is left.  Whatever is cut is
    named in headers, with the original value's size and SHA-256, so the whole record can be found at its
    origin (or in the service's database)."""
    record = letter.record
    value = record.value
    ours: list[tuple[str, bytes | None]] = [
        (REASON, letter.reason.code.encode()),
        (ERROR, letter.reason.error[:2000].encode()),
        (ORIGIN_TOPIC, record.topic.encode()),
        (ORIGIN_PARTITION, str(record.partition).encode()),
        (ORIGIN_OFFSET, str(record.offset).encode()),
        (CONSUMER, letter.consumer.encode()),
        (FAILED_AT, letter.created_at.isoformat().encode()),
        (LETTER_ID, str(letter.id).encode()),
    ]
    key = record.key if record.key is None or len(record.key) <= _MAX_KEY_BYTES else record.key[:_MAX_KEY_BYTES]
    original: list[tuple[str, bytes | None]] = []
    header_budget = _MAX_ORIGINAL_HEADER_BYTES
    for k, v in record.headers:
        if k in DLQ_HEADERS:
            continue
        size = _header_size(k, v)
        if size > header_budget:
            continue
        original.append((k, v))
        header_budget -= size
    dropped = sum(1 for k, _ in record.headers if k not in DLQ_HEADERS) - len(original)
    truncated = key is not record.key
    if dropped:
        ours.append((HEADERS_DROPPED, str(dropped).encode()))
    headers = ours + original
    used = _PER_RECORD + len(key or b"") + sum(_header_size(k, v) for k, v in headers)
    room = max_bytes - used - 3 * _PER_HEADER - 200  # the three value headers below
    if value is not None and len(value) > room:
        headers += [
            (VALUE_SIZE, str(len(value)).encode()),
            (VALUE_SHA256, hashlib.sha256(value).hexdigest().encode()),
        ]
        value = value[: max(room, 0)]
        truncated = True
    if truncated:
        headers.append((TRUNCATED, b"true"))
    if key is None and value is None:
        value = b""  # a record needs a key or a value; a null record is kept as an empty one
    return Record(topic, key, value, headers)


def _header_size(key: str, value: bytes | None) -> int:
    return _PER_HEADER + len(key.encode()) + len(value or b"")


async def record_letters(
    conn: Connection, consumer: str, letters: Sequence[tuple[ConsumedRecord, DeadLetterReason]]
) -> list[int]:
    """Keep each letter in the current transaction; a record already lettered (read again after a restart or a
    restore) is not lettered twice.  Returns the ids of the new letters."""
    ids: list[int] = []
    for record, reason in letters:  # letters are rare: one statement each keeps the SQL plain
        letter_id = await conn.fetchval(
            "INSERT INTO hearth_dead_letters (consumer, origin_topic, origin_partition, origin_offset, record_key,"
            " record_value, header_keys, header_values, reason, error)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            " ON CONFLICT (consumer, origin_topic, origin_partition, origin_offset) DO NOTHING RETURNING id",
            consumer,
            record.topic,
            record.partition,
            record.offset,
            record.key,
            record.value,
            [printable(k) for k, _ in record.headers],
            [v for _, v in record.headers],
            reason.code,
            printable(reason.error)[:4000],
        )
        if letter_id is not None:
            ids.append(int(letter_id))
    if ids:
        await conn.execute(f"NOTIFY {CHANNEL}, '{LETTERS}'")  # the relay publishes letters too, at once
    return ids


def printable(text: str) -> str:
    """Text any sink accepts: Postgres text holds neither NUL nor lone surrogates (which JSON escapes can
    produce), and neither does a JSON log line; both are kept visible as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


async def load_letters(conn: Connection, consumer: str, ids: Sequence[int] | None = None) -> list[Letter]:
    """Letters of this consumer, oldest first: the given ids, or all of them."""
    rows = await conn.fetch(
        "SELECT id, consumer, origin_topic, origin_partition, origin_offset, record_key, record_value,"
        " header_keys, header_values, reason, error, created_at FROM hearth_dead_letters"
        " WHERE consumer = $1 AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[])) ORDER BY id",
        consumer,
        None if ids is None else list(ids),
    )
    return [_letter(row) for row in rows]


def _letter(row: Any) -> Letter:
    record = StoredRecord(
        topic=row["origin_topic"],
        partition=row["origin_partition"],
        offset=row["origin_offset"],
        key=None if row["record_key"] is None else bytes(row["record_key"]),
        value=None if row["record_value"] is None else bytes(row["record_value"]),
        headers=tuple(
            (k, None if v is None else bytes(v)) for k, v in zip(row["header_keys"], row["header_values"], strict=True)
        ),
    )
    return Letter(row["id"], row["consumer"], record, DeadLetterReason(row["reason"], row["error"]), row["created_at"])


class DeadLetterPublisher:
    """Publishes recorded letters to `<service>.dlq`; run by the outbox relay's leader, after each wake-up."""

    def __init__(self, publisher: KafkaPublisher, service: str, *, topic: str, max_bytes: int = 1_000_000) -> None:
        self._publisher = publisher
        self._service = service
        self.topic = topic
        self._max_bytes = max_bytes

    async def publish_pending(self, conn: Connection, *, limit: int = 100) -> int:
        """Publish letters not yet published; returns how many were settled (published or failed for good).
        A permanent refusal (too large, not authorised) is recorded on the letter, logged with its cause and
        counted, and never retried: the letter stays in the database, where replay finds it."""
        async with conn.transaction():  # row locks only: two publishers never send the same letter
            rows = await conn.fetch(
                "SELECT id, consumer, origin_topic, origin_partition, origin_offset, record_key, record_value,"
                " header_keys, header_values, reason, error, created_at FROM hearth_dead_letters"
                " WHERE published_at IS NULL AND publish_error IS NULL ORDER BY id LIMIT $1"
                " FOR UPDATE SKIP LOCKED",
                limit,
            )
            return await self._publish(conn, rows)

    async def _publish(self, conn: Connection, rows: Sequence[Any]) -> int:
        if not rows:
            return 0
        letters = [_letter(row) for row in rows]
        records = [dlq_letter(letter, self.topic, max_bytes=self._max_bytes) for letter in letters]
        try:
            await self._publisher.send_all(records)
            await self._mark_published(conn, letters)
        except PermanentPublishError:
            # Find which: one at a time, so one letter the broker refuses cannot hold back the others.
            for letter, record in zip(letters, records, strict=True):
                try:
                    await self._publisher.send_all([record])
                except PermanentPublishError as exc:
                    await self._mark_failed(conn, letter, str(exc))
                    continue
                await self._mark_published(conn, [letter])
        return len(letters)

    async def _mark_published(self, conn: Connection, letters: Sequence[Letter]) -> None:
        await conn.execute(
            "UPDATE hearth_dead_letters SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[])",
            [letter.id for letter in letters],
        )
        for letter in letters:
            metrics.DLQ_RECORDS.labels(self._service, letter.record.topic).inc()

    async def _mark_failed(self, conn: Connection, letter: Letter, cause: str) -> None:
        await conn.execute(
            "UPDATE hearth_dead_letters SET publish_error = $2 WHERE id = $1", letter.id, printable(cause)[:2000]
        )
        metrics.DLQ_PUBLISH_FAILED.labels(self._service).inc()
        log.error(
            "dead_letter_publish_refused",
            letter_id=letter.id,
            cause=cause[:300],
            origin_topic=letter.record.topic,
            origin_partition=letter.record.partition,
            origin_offset=letter.record.offset,
        )
