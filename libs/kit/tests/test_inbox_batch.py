"""A batch settles in one transaction: each record applied, a duplicate, or dead-lettered on its own; a handler
that keeps failing is retried, then dead-lettered alone, while the rest of its batch is applied once; the
position after the batch is written with its effects."""

from __future__ import annotations

import asyncio
import json

import asyncpg

from hearth.contracts import spec_for, topic_for
from hearth.contracts.events.screening import Screened
from hearth.kit import positions
from hearth.kit.dead_letters import StoredRecord as Record
from hearth.kit.inbox import Inbox, Outcome
from hearth.kit.testing.helpers import screened_event
from hearth.kit.testing.workers import on_screened
from hearth.kit.uow import UnitOfWork


def _inbox(pool, prefix: str, handler=on_screened, **options) -> Inbox:
    return Inbox(UnitOfWork(pool, "followup", topic_prefix=prefix), {spec_for(Screened).type: handler}, **options)


async def _letters(pool) -> list[tuple[int, str]]:
    rows = await pool.fetch("SELECT origin_offset, reason FROM hearth_dead_letters ORDER BY origin_offset")
    return [(r["origin_offset"], r["reason"]) for r in rows]


async def test_a_failing_handler_is_dead_lettered_alone(pool, unique_name):
    prefix = unique_name("ibb") + "."
    topic = prefix + topic_for(Screened)
    events = [screened_event(f"pt-{i}") for i in range(5)]
    poison = str(events[2].id)

    async def fails_on_one(event, tx) -> None:
        if str(event.id) == poison:
            raise RuntimeError("handler bug")
        await on_screened(event, tx)

    inbox = _inbox(pool, prefix, fails_on_one, max_attempts=3)
    batch = [Record(topic, 0, i, e.partitionkey.encode(), e.to_json()) for i, e in enumerate(events)]
    assert await inbox.handle_batch(batch) is Outcome.RETRY
    assert await inbox.handle_batch(batch) is Outcome.RETRY
    assert await pool.fetchval("SELECT count(*) FROM test_effects") == 0, "a retried batch left effects"
    assert await pool.fetchval("SELECT count(*) FROM hearth_consumer_positions") == 0, "a retried batch moved on"
    assert await inbox.handle_batch(batch) is Outcome.APPLIED
    # Redelivered whole (the position restored from a backup, say): four duplicates, and the poison record goes
    # through its attempts again (it was not recorded as consumed, so a fixed handler could still apply it) —
    # but it stays one letter.
    outcomes = [await inbox.handle_batch(batch) for _ in range(3)]
    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.APPLIED]
    applied = {r["event_id"] for r in await pool.fetch("SELECT event_id::text FROM test_effects")}
    assert applied == {str(e.id) for e in events} - {poison}
    assert await pool.fetchval("SELECT count(*) FROM test_effects") == 4
    assert await _letters(pool) == [(2, "handler_failed")]
    async with pool.acquire() as conn:
        assert await positions.load(conn, "followup") == {(topic, 0): 5}


async def test_one_batch_with_a_repeat_and_a_bad_record_applies_each_event_once(pool, unique_name):
    prefix = unique_name("ibf") + "."
    topic = prefix + topic_for(Screened)
    events = [screened_event(f"pt-{i}") for i in range(3)]
    values = [events[0].to_json(), events[1].to_json(), b"not json", events[0].to_json(), events[2].to_json()]
    batch = [Record(topic, 0, i, b"pt", v) for i, v in enumerate(values)]
    inbox = _inbox(pool, prefix)
    assert await inbox.handle_batch(batch) is Outcome.APPLIED
    assert await inbox.handle_batch(batch) is Outcome.APPLIED  # read again: nothing new, still one letter
    rows = await pool.fetch("SELECT event_id::text AS id, count(*) AS n FROM test_effects GROUP BY event_id")
    assert {r["id"]: r["n"] for r in rows} == {str(e.id): 1 for e in events}
    assert await _letters(pool) == [(2, "contract")]


async def test_records_that_break_a_decoder_are_lettered_alone_and_their_neighbours_applied(pool, unique_name):
    """The finding: one such record in a batch lost the whole batch.  Each is settled on its own now."""
    prefix = unique_name("ibh") + "."
    topic = prefix + topic_for(Screened)
    good = [screened_event(f"pt-{i}") for i in range(4)]
    deep = b'{"a":' * 5000 + b"1" + b"}" * 5000
    hostile = [
        Record(topic, 0, 1, b"pt", deep),
        Record(topic, 0, 3, b"pt", b"\xff\xfe not utf-8", [("content-type", b"application/json")]),
        Record(topic, 0, 5, None, None, [("h", None), ("x", b"\xff\xfe")]),
        Record(topic, 0, 7, b"pt", b'{"type": "\\ud800"}'),
    ]
    batch = sorted(
        [Record(topic, 0, 2 * i, e.partitionkey.encode(), e.to_json()) for i, e in enumerate(good)] + hostile,
        key=lambda r: r.offset,
    )
    assert await _inbox(pool, prefix).handle_batch(batch) is Outcome.APPLIED
    applied = {r["event_id"] for r in await pool.fetch("SELECT event_id::text FROM test_effects")}
    assert applied == {str(e.id) for e in good}
    assert await _letters(pool) == [(1, "contract"), (3, "contract"), (5, "contract"), (7, "contract")]
    stored = await pool.fetchrow("SELECT header_keys, header_values FROM hearth_dead_letters WHERE origin_offset = 5")
    assert list(stored["header_keys"]) == ["h", "x"] and list(stored["header_values"]) == [None, b"\xff\xfe"]


async def test_provenance_wrong_topic_and_wrong_source_are_lettered(pool, unique_name):
    prefix = unique_name("ibp") + "."
    topic = prefix + topic_for(Screened)
    right = screened_event("pt-1")
    on_other_topic = screened_event("pt-2")
    forged = json.loads(screened_event("pt-3").to_json())
    forged["source"] = "/hearth/session"
    batch = [
        Record(topic, 0, 0, b"pt-1", right.to_json()),
        Record(prefix + "session.session-started.v1", 0, 0, b"pt-2", on_other_topic.to_json()),
        Record(topic, 0, 1, b"pt-3", json.dumps(forged).encode()),
    ]
    assert await _inbox(pool, prefix).handle_batch(batch) is Outcome.APPLIED
    applied = {r["event_id"] for r in await pool.fetch("SELECT event_id::text FROM test_effects")}
    assert applied == {str(right.id)}
    reasons = {r["reason"] for r in await pool.fetch("SELECT reason FROM hearth_dead_letters")}
    assert reasons == {"wrong_topic", "wrong_source"}


async def test_the_same_id_with_other_bytes_is_a_conflicting_duplicate(pool, unique_name):
    prefix = unique_name("ibc") + "."
    topic = prefix + topic_for(Screened)
    first = screened_event("pt-1")
    tampered = json.loads(first.to_json())
    tampered["data"]["phq9_total"] = (tampered["data"]["phq9_total"] + 1) % 27
    inbox = _inbox(pool, prefix)
    assert await inbox.handle_batch([Record(topic, 0, 0, b"pt-1", first.to_json())]) is Outcome.APPLIED
    again = [
        Record(topic, 0, 1, b"pt-1", first.to_json()),  # a redelivery: dropped quietly
        Record(topic, 0, 2, b"pt-1", json.dumps(tampered).encode()),  # not a redelivery
    ]
    assert await inbox.handle_batch(again) is Outcome.APPLIED
    assert await pool.fetchval("SELECT count(*) FROM test_effects") == 1
    assert await _letters(pool) == [(2, "conflicting_duplicate")]


async def test_replay_processes_the_stored_record_here_only(pool, unique_name):
    prefix = unique_name("ibr") + "."
    topic = prefix + topic_for(Screened)
    event = screened_event("pt-1")
    broken = {"ok": False}

    async def flaky(ev, tx) -> None:
        if not broken["ok"]:
            raise RuntimeError("bug, fixed later")
        await on_screened(ev, tx)

    inbox = _inbox(pool, prefix, flaky, max_attempts=1)
    assert await inbox.handle_batch([Record(topic, 0, 0, b"pt-1", event.to_json())]) is Outcome.APPLIED
    letter_id = await pool.fetchval("SELECT id FROM hearth_dead_letters")
    broken["ok"] = True
    [result] = await inbox.replay([letter_id])
    assert result.outcome == "applied"
    assert await pool.fetchval("SELECT count(*) FROM test_effects") == 1
    [again] = await inbox.replay([letter_id])
    assert again.outcome == "duplicate"
    assert await pool.fetchval("SELECT count(*) FROM test_effects") == 1
    async with pool.acquire() as conn:
        assert await positions.load(conn, "followup") == {(topic, 0): 1}, "replay moved a position"


async def test_a_batch_that_succeeds_takes_no_savepoint_and_writes_its_position_last(pool, kit_dsn, unique_name):
    """The fast pass is the transaction's first part: a failure rolls back the whole transaction (the test above
    shows the batch then settled record by record), so a batch that succeeds needs no savepoint around it."""
    prefix = unique_name("ibs") + "."
    topic = prefix + topic_for(Screened)
    events = [screened_event(f"pt-s{i}") for i in range(5)]
    batch = [Record(topic, 0, i, e.partitionkey.encode(), e.to_json()) for i, e in enumerate(events)]
    statements: list[str] = []

    def log(record) -> None:
        statements.append(record.query)

    async with asyncpg.create_pool(kit_dsn, min_size=1, max_size=1) as one:
        async with one.acquire() as conn:
            conn.add_query_logger(log)
        assert await _inbox(one, prefix).handle_batch(batch) is Outcome.APPLIED
        await asyncio.sleep(0.05)  # the logger is called soon after each statement, not during it
    assert any("hearth_inbox" in q for q in statements), statements
    assert not [q for q in statements if "SAVEPOINT" in q.upper()], statements
    # The position goes in the transaction's last statement, with any outbox and audit rows (at_commit.py).
    last = [q for q in statements if "hearth_consumer_positions" in q]
    assert len(last) == 1 and last[0].startswith("WITH positioned"), statements
    assert statements[statements.index(last[0]) + 1] == "COMMIT;", statements
    async with pool.acquire() as conn:
        assert await positions.load(conn, "followup") == {(topic, 0): 5}
    assert await pool.fetchval("SELECT count(*) FROM test_effects") == 5
