"""Kafka's copy of a consumer's positions (for lag tools; the database's is the one that counts) is sent at most
once per interval, with the latest offsets, and whatever is still pending goes when the consumer stops."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from aiokafka import TopicPartition

from hearth.kit.consumer import InboxConsumer

TP = TopicPartition("t", 0)


class FakeConsumer:
    def __init__(self) -> None:
        self.commits: list[dict[TopicPartition, int]] = []

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))


def _consumer(interval: float) -> tuple[InboxConsumer, Any]:
    inbox: Any = SimpleNamespace(service="probe", topics=["t"])
    consumer = InboxConsumer(inbox, "127.0.0.1:1", group_id="g", kafka_commit_interval=interval)
    fake = FakeConsumer()
    consumer._consumer = fake  # type: ignore[assignment]
    consumer._positioned = {("t", 0)}
    return consumer, fake


async def test_commits_are_coalesced_to_one_per_interval_and_the_last_offset_is_sent() -> None:
    consumer, fake = _consumer(interval=0.3)
    for offset in range(1, 61):  # 60 batches settling over ~0.6 s
        consumer._commit_later(fake, {("t", 0): offset})
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.7)
    assert consumer._committing is not None
    await asyncio.wait_for(consumer._committing, 2)
    assert 2 <= len(fake.commits) <= 4, fake.commits
    assert fake.commits[0] == {TP: 1}  # the first goes at once: an idle consumer's lag shows without delay
    assert fake.commits[-1] == {TP: 60}
    assert [c[TP] for c in fake.commits] == sorted(c[TP] for c in fake.commits)


async def test_what_is_pending_at_stop_is_committed_without_waiting_out_the_interval() -> None:
    consumer, fake = _consumer(interval=30.0)
    consumer._commit_later(fake, {("t", 0): 1})
    await asyncio.sleep(0.05)
    consumer._commit_later(fake, {("t", 0): 2})  # held back: the interval has not passed
    assert fake.commits == [{TP: 1}]
    consumer._consumer = None  # what stop() does before it waits for the commits in flight
    consumer._wake_committer()
    assert consumer._committing is not None
    await asyncio.wait_for(consumer._committing, 2)
    assert fake.commits == [{TP: 1}, {TP: 2}]
