"""A letter never blocks its partition: one too big for the producer is published cut to fit, with its size and
digest; one the broker refuses for good is recorded as refused, counted, and not retried; inbox and idempotency
rows older than their retention are pruned."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from hearth.contracts import dlq_topic, topic_for
from hearth.contracts.events.screening import Screened
from hearth.kit import dead_letters as dl
from hearth.kit.dead_letters import DeadLetterPublisher, DeadLetterReason, Letter, StoredRecord, dlq_letter
from hearth.kit.publisher import KafkaPublisher
from hearth.kit.relay import OutboxRelay
from hearth.kit.settings import kafka_client_options
from hearth.kit.testing.helpers import read_raw
from hearth.kit.topics import ensure_topics

LIMIT = 1_000_000


def _letter(value: bytes, headers: tuple = (), key: bytes | None = b"pt-1") -> Letter:
    record = StoredRecord("screening.screened.v1", 3, 42, key, value, headers)
    return Letter(7, "followup", record, DeadLetterReason("contract", "not JSON"), datetime.now(UTC))


def _size(record) -> int:
    return len(record.key or b"") + len(record.value or b"") + sum(len(k) + len(v or b"") for k, v in record.headers)


def test_a_letter_at_the_broker_limit_is_cut_to_fit_with_its_size_and_digest():
    value = b"x" * 1_048_456  # the record seen blocking a partition: accepted by the broker, too big to re-send
    letter = dlq_letter(_letter(value, (("trace", b"t" * 500),)), "followup.dlq", max_bytes=LIMIT)
    headers = dict(letter.headers)
    assert _size(letter) < LIMIT
    assert headers[dl.TRUNCATED] == b"true"
    assert headers[dl.VALUE_SIZE] == b"1048456"
    assert headers[dl.VALUE_SHA256] == hashlib.sha256(value).hexdigest().encode()
    assert value.startswith(letter.value or b"") and len(letter.value or b"") > 900_000
    assert headers["trace"] == b"t" * 500 and headers[dl.ORIGIN_OFFSET] == b"42"


def test_huge_headers_and_keys_are_dropped_or_cut_and_said_so():
    headers = tuple((f"h{i}", b"v" * 40_000) for i in range(30))
    letter = dlq_letter(_letter(b"{}", headers, key=b"k" * 500_000), "followup.dlq", max_bytes=LIMIT)
    assert _size(letter) < LIMIT
    kept = dict(letter.headers)
    assert len(letter.key or b"") == 1024 and kept[dl.TRUNCATED] == b"true"
    assert int(kept[dl.HEADERS_DROPPED]) == 29  # 64 KiB of original headers at most
    assert letter.value == b"{}"


def test_a_small_letter_is_the_record_unchanged():
    letter = dlq_letter(_letter(b"{bad", (("x", None), ("y", b"\xff"))), "followup.dlq", max_bytes=LIMIT)
    assert letter.value == b"{bad" and letter.key == b"pt-1"
    assert ("x", None) in letter.headers and ("y", b"\xff") in letter.headers
    assert dl.TRUNCATED not in dict(letter.headers)


def test_a_record_with_neither_key_nor_value_is_lettered_as_an_empty_value():
    letter = dlq_letter(_letter(None, key=None), "followup.dlq", max_bytes=LIMIT)
    assert letter.key is None and letter.value == b""


async def test_a_letter_the_broker_refuses_is_recorded_and_not_retried(infra, pool, unique_name):
    prefix = unique_name("dlr") + "."
    topic = prefix + dlq_topic("followup")
    await ensure_topics(infra.kafka_bootstrap, [topic], partitions=1)
    origin = prefix + topic_for(Screened)
    async with pool.acquire() as conn:
        await dl.record_letters(
            conn,
            "followup",
            [
                (StoredRecord(origin, 0, 0, b"pt", b"y" * 1_500_000, ()), DeadLetterReason("contract", "too big")),
                (StoredRecord(origin, 0, 1, b"pt", b"{bad", ()), DeadLetterReason("contract", "not JSON")),
            ],
        )
    publisher = KafkaPublisher(infra.kafka_bootstrap, **kafka_client_options())
    # A limit above what the producer may send: the broker-side refusal that used to be retried forever.
    letters = DeadLetterPublisher(publisher, "followup", topic=topic, max_bytes=3_000_000)
    try:
        async with pool.acquire() as conn:
            assert await letters.publish_pending(conn) == 2
            assert await letters.publish_pending(conn) == 0, "a refused letter was tried again"
    finally:
        await publisher.stop()
    rows = await pool.fetch("SELECT origin_offset, published_at, publish_error FROM hearth_dead_letters ORDER BY 1")
    assert rows[0]["published_at"] is None and "MessageSizeTooLarge" in rows[0]["publish_error"]
    assert rows[1]["published_at"] is not None and rows[1]["publish_error"] is None
    [published] = await read_raw(infra.kafka_bootstrap, topic, expect=1, timeout=10)
    assert published.value == b"{bad"


async def test_prune_removes_inbox_and_idempotency_rows_past_their_retention(kit_dsn, pool):
    old = datetime.now(UTC) - timedelta(days=40)
    await pool.execute(
        "INSERT INTO hearth_inbox (consumer, event_id, event_type, topic, kafka_partition, kafka_offset, processed_at)"
        " VALUES ('followup', gen_random_uuid(), 't', 't', 0, 0, $1), ('followup', gen_random_uuid(), 't', 't', 0, 1,"
        " now())",
        old,
    )
    await pool.execute(
        "INSERT INTO hearth_idempotency (principal, key, request_hash, status_code, response, created_at)"
        " VALUES ('p', 'old', 'h', 200, '{}', $1), ('p', 'new', 'h', 200, '{}', now())",
        old,
    )
    relay = OutboxRelay(
        kit_dsn,
        KafkaPublisher("127.0.0.1:1"),
        service="followup",
        inbox_retention=timedelta(days=30),
        idempotency_retention=timedelta(days=7),
    )
    async with pool.acquire() as conn:
        assert await relay.prune(conn) == 2
    assert await pool.fetchval("SELECT count(*) FROM hearth_inbox") == 1
    assert await pool.fetchval("SELECT key FROM hearth_idempotency") == "new"
