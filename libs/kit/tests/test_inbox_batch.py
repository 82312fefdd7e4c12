"""A batch settles in one transaction: a handler that keeps failing is retried, then dead-lettered alone,
while the rest of its batch is applied once."""

from __future__ import annotations

from dataclasses import dataclass, field

from hearth.contracts import dlq_topic, spec_for
from hearth.contracts.events.screening import Screened
from hearth.kit.dead_letters import ORIGIN_OFFSET, REASON, DeadLetters
from hearth.kit.inbox import Inbox, Outcome
from hearth.kit.publisher import KafkaPublisher
from hearth.kit.settings import kafka_client_options
from hearth.kit.testing.helpers import read_raw, screened_event
from hearth.kit.testing.workers import on_screened
from hearth.kit.topics import ensure_topics
from hearth.kit.uow import UnitOfWork


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


async def test_a_failing_handler_is_dead_lettered_alone(infra, pool, unique_name):
    prefix = unique_name("ibb") + "."
    await ensure_topics(infra.kafka_bootstrap, [prefix + dlq_topic("followup")], partitions=1)
    events = [screened_event(f"pt-{i}") for i in range(5)]
    poison = str(events[2].id)

    async def fails_on_one(event, tx) -> None:
        if str(event.id) == poison:
            raise RuntimeError("handler bug")
        await on_screened(event, tx)

    publisher = KafkaPublisher(infra.kafka_bootstrap, **kafka_client_options())
    inbox = Inbox(
        UnitOfWork(pool, "followup", topic_prefix=prefix),
        {spec_for(Screened).type: fails_on_one},
        DeadLetters(publisher, "followup", topic_prefix=prefix),
        max_attempts=3,
    )
    batch = [Record("t", 0, i, e.partitionkey.encode(), e.to_json()) for i, e in enumerate(events)]
    try:
        assert await inbox.handle_batch(batch) is Outcome.RETRY
        assert await inbox.handle_batch(batch) is Outcome.RETRY
        assert await pool.fetchval("SELECT count(*) FROM test_effects") == 0, "a retried batch left effects"
        assert await inbox.handle_batch(batch) is Outcome.APPLIED
        # Redelivered whole (offsets reset): four duplicates, and the poison record goes through its attempts
        # again (it was not recorded as consumed, so a replay after a fix can still apply it).
        outcomes = [await inbox.handle_batch(batch) for _ in range(3)]
        assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.APPLIED]
    finally:
        await publisher.stop()
    applied = {r["event_id"] for r in await pool.fetch("SELECT event_id::text FROM test_effects")}
    assert applied == {str(e.id) for e in events} - {poison}
    assert await pool.fetchval("SELECT count(*) FROM test_effects") == 4
    letters = await read_raw(infra.kafka_bootstrap, prefix + dlq_topic("followup"), expect=2, timeout=10)
    assert len(letters) == 2
    headers = dict(letters[0].headers)
    assert headers[REASON] == b"handler_failed" and headers[ORIGIN_OFFSET] == b"2"


async def test_one_batch_with_a_repeat_and_a_bad_record_applies_each_event_once(infra, pool, unique_name):
    prefix = unique_name("ibf") + "."
    await ensure_topics(infra.kafka_bootstrap, [prefix + dlq_topic("followup")], partitions=1)
    events = [screened_event(f"pt-{i}") for i in range(3)]
    values = [events[0].to_json(), events[1].to_json(), b"not json", events[0].to_json(), events[2].to_json()]
    batch = [Record("t", 0, i, b"pt", v) for i, v in enumerate(values)]
    publisher = KafkaPublisher(infra.kafka_bootstrap, **kafka_client_options())
    inbox = Inbox(
        UnitOfWork(pool, "followup", topic_prefix=prefix),
        {spec_for(Screened).type: on_screened},
        DeadLetters(publisher, "followup", topic_prefix=prefix),
    )
    try:
        assert await inbox.handle_batch(batch) is Outcome.APPLIED
    finally:
        await publisher.stop()
    rows = await pool.fetch("SELECT event_id::text AS id, count(*) AS n FROM test_effects GROUP BY event_id")
    assert {r["id"]: r["n"] for r in rows} == {str(e.id): 1 for e in events}
    letters = await read_raw(infra.kafka_bootstrap, prefix + dlq_topic("followup"), expect=2, timeout=5)
    assert [dict(x.headers)[ORIGIN_OFFSET] for x in letters] == [b"2"], "the bad record was dead-lettered twice"
