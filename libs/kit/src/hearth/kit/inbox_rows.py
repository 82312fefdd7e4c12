"""The inbox's table: which event ids a consumer has applied, each with the digest of the payload it was applied
from (so a second copy with another payload is told apart from a redelivery)."""

from __future__ import annotations

from collections.abc import Sequence

from .db import Connection
from .dead_letters import ConsumedRecord
from .inbox_records import Accepted


async def record_all(conn: Connection, consumer: str, consumed: Sequence[tuple[Accepted, ConsumedRecord]]) -> set[str]:
    """Record every event of a batch in one statement; returns the ids that were not there yet."""
    if not consumed:
        return set()
    rows = await conn.fetch(
        "INSERT INTO hearth_inbox (consumer, event_id, event_type, topic, kafka_partition, kafka_offset,"
        " payload_sha256) SELECT $1, e, t, tp, p, o, d FROM unnest($2::uuid[], $3::text[], $4::text[], $5::int[],"
        " $6::bigint[], $7::bytea[]) AS u(e, t, tp, p, o, d) ON CONFLICT DO NOTHING RETURNING event_id::text",
        consumer,
        [str(a.event.id) for a, _ in consumed],
        [a.event.type for a, _ in consumed],
        [r.topic for _, r in consumed],
        [r.partition for _, r in consumed],
        [r.offset for _, r in consumed],
        [a.digest for a, _ in consumed],
    )
    return {row[0] for row in rows}


async def record(conn: Connection, consumer: str, accepted: Accepted, record: ConsumedRecord) -> bool:
    inserted = await conn.fetchval(
        "INSERT INTO hearth_inbox (consumer, event_id, event_type, topic, kafka_partition, kafka_offset,"
        " payload_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING true",
        consumer,
        accepted.event.id,
        accepted.event.type,
        record.topic,
        record.partition,
        record.offset,
        accepted.digest,
    )
    return bool(inserted)


async def stored_digests(conn: Connection, consumer: str, event_ids: Sequence[str]) -> dict[str, bytes]:
    """The digest each id was first applied from (rows written before digests were kept have none)."""
    if not event_ids:
        return {}
    rows = await conn.fetch(
        "SELECT event_id::text, payload_sha256 FROM hearth_inbox"
        " WHERE consumer = $1 AND event_id = ANY($2::uuid[]) AND payload_sha256 IS NOT NULL",
        consumer,
        list(event_ids),
    )
    return {row[0]: bytes(row[1]) for row in rows}
