"""Consumer positions kept in the service's own database (`hearth_consumer_positions`).

The inbox writes the offset after each settled batch in the transaction of its effects; the consumer seeks
there on every partition assignment.  A position Kafka no longer holds (the records between it and the
partition's earliest offset were deleted by retention) is a gap: those records can never be applied, so the
consumer refuses the partition, loudly, rather than skip them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from . import at_commit
from .chain import Chain
from .db import Connection
from .dead_letters import ConsumedRecord

TopicPartition = tuple[str, int]


@dataclass(frozen=True)
class PositionGap:
    topic: str
    partition: int
    position: int  # the next offset the database says to read
    earliest: int  # the first offset Kafka still holds
    latest: int  # the offset after the last record

    def __str__(self) -> str:
        if self.position > self.latest:
            return (
                f"{self.topic}[{self.partition}]: the database position {self.position} is past the end of the"
                f" partition ({self.latest}); was the topic deleted and created again?"
            )
        return (
            f"{self.topic}[{self.partition}]: offsets {self.position}..{self.earliest - 1} were deleted by"
            f" retention before this service applied them (database position {self.position}, earliest"
            f" offset on Kafka {self.earliest})"
        )


class PositionGapError(RuntimeError):
    """The service's database is behind what Kafka still holds: starting would skip records silently."""

    def __init__(self, gaps: Sequence[PositionGap]) -> None:
        self.gaps = list(gaps)
        lines = "\n  ".join(str(g) for g in gaps)
        super().__init__(
            f"refusing to consume: {len(gaps)} partition(s) have records missing between the database position"
            f" and Kafka:\n  {lines}\nRestore a newer backup, or (accepting the loss) move the position with"
            " `hearth db position <service> --set-earliest TOPIC:PARTITION`; docs/operations.md has the steps."
        )


def next_offsets(records: Iterable[ConsumedRecord]) -> dict[TopicPartition, int]:
    """The offset after the last record of each partition in a batch."""
    after: dict[TopicPartition, int] = {}
    for r in records:
        tp = (r.topic, r.partition)
        after[tp] = max(after.get(tp, 0), r.offset + 1)
    return after


def find_gaps(
    stored: Mapping[TopicPartition, int],
    earliest: Mapping[TopicPartition, int],
    latest: Mapping[TopicPartition, int],
) -> list[PositionGap]:
    """Positions outside what Kafka holds: before the earliest offset, or past the end."""
    gaps = []
    for tp, position in sorted(stored.items()):
        if tp not in earliest or tp not in latest:
            continue
        if position < earliest[tp] or position > latest[tp]:
            gaps.append(PositionGap(tp[0], tp[1], position, earliest[tp], latest[tp]))
    return gaps


async def save(conn: Connection, consumer: str, records: Sequence[ConsumedRecord]) -> None:
    """Record the position after a batch.  Never moves back: a member that lost its partitions while
    settling a batch cannot rewind the member that took them over.  Inside `at_commit.deferred`, written with
    the transaction's last statement."""
    after = next_offsets(records)
    await at_commit.write_last(conn, lambda chain: _add_to(chain, consumer, after))


def _add_to(chain: Chain, consumer: str, after: dict[TopicPartition, int]) -> None:
    values = ", ".join(
        (
            chain.param([t for t, _ in after], "text[]"),
            chain.param([p for _, p in after], "int[]"),
            chain.param(list(after.values()), "bigint[]"),
        )
    )
    chain.add(
        "positioned",
        "INSERT INTO hearth_consumer_positions (consumer, topic, kafka_partition, next_offset)"
        f" SELECT {chain.param(consumer, 'text')}, t, p, o FROM unnest({values}) AS u(t, p, o){chain.gate()}"
        " ON CONFLICT (consumer, topic, kafka_partition) DO UPDATE"
        " SET next_offset = greatest(hearth_consumer_positions.next_offset, excluded.next_offset),"
        " updated_at = clock_timestamp() RETURNING 1",
    )


async def load(conn: Connection, consumer: str, topics: Sequence[str] | None = None) -> dict[TopicPartition, int]:
    rows = await conn.fetch(
        "SELECT topic, kafka_partition, next_offset FROM hearth_consumer_positions"
        " WHERE consumer = $1 AND ($2::text[] IS NULL OR topic = ANY($2::text[]))",
        consumer,
        None if topics is None else list(topics),
    )
    return {(r["topic"], r["kafka_partition"]): r["next_offset"] for r in rows}


async def set_position(conn: Connection, consumer: str, topic: str, partition: int, offset: int) -> None:
    """An operator's decision to move a position (after a gap was accepted as lost)."""
    await conn.execute(
        "INSERT INTO hearth_consumer_positions (consumer, topic, kafka_partition, next_offset)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (consumer, topic, kafka_partition) DO UPDATE"
        " SET next_offset = excluded.next_offset, updated_at = clock_timestamp()",
        consumer,
        topic,
        partition,
        offset,
    )
