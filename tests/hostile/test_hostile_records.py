"""The four services as processes take thousands of hostile records, interleaved with valid events, on every
topic each of them consumes — and every guarantee holds exactly:

- every valid event is applied once by every service that consumes it (one inbox row, at its own offset);
- every invalid record is dead-lettered once, with the reason expected, by every service that consumes its
  topic, and its letter reaches `<service>.dlq`;
- a redelivery (the same bytes) is neither applied again nor lettered;
- the position each service keeps in its database covers every record, and never passes an unsettled one
  (checked by settling: each offset below the position is an inbox row, a letter or a known redelivery);
- no service restarted.

`make test` runs it with HEARTH_HOSTILE_RECORDS (2,000 by default); `make hostile` with many more, writing the
figures to `.state/hostile/summary.json` for docs/security.md.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import time
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.producer import message_accumulator
from aiokafka.producer import producer as producer_module
from aiokafka.record.default_records import _DefaultRecordBatchBuilderPy

from hearth.journey.timings import Timings
from hearth.kit.settings import kafka_client_options
from hearth.kit.testing.hostile import Planned, plan

HOSTILE = int(os.environ.get("HEARTH_HOSTILE_RECORDS", "2000"))
MAX_HUGE = int(os.environ.get("HEARTH_HOSTILE_MAX_HUGE", "8"))
SETTLE_SECONDS = float(os.environ.get("HEARTH_HOSTILE_SETTLE_SECONDS", "300"))


async def _produce(bootstrap: str, prefix: str, records: list[Planned]) -> list[tuple[Planned, int, int]]:
    """Send every record (as the admin: an attacker who can write anywhere); returns where each went.  Records
    with a raw header key go through a second producer, one batch each: a batch comes from one producer, and the
    consumer letters a batch it cannot unpack as a whole."""
    options: dict = {"acks": "all", "enable_idempotence": True, "max_request_size": 1_100_000, "linger_ms": 5}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **options, **kafka_client_options())
    await producer.start()
    placed: dict[int, tuple[int, int]] = {}
    try:
        futures = []
        for i, r in enumerate(records):
            if r.kind != "bad_header_key":
                sent = await producer.send(prefix + r.topic, value=r.value, key=r.key, headers=r.headers)
                futures.append((i, sent))
        for i, sent in futures:
            metadata = await sent
            placed[i] = (metadata.partition, metadata.offset)
    finally:
        await producer.stop()
    raw = [i for i, r in enumerate(records) if r.kind == "bad_header_key"]
    if raw:
        # The pure-Python batch writer encodes header keys by calling `encode`, so a RawKey reaches the wire.
        patched = (message_accumulator, producer_module)
        saved = [m.DefaultRecordBatchBuilder for m in patched]
        for m in patched:
            m.DefaultRecordBatchBuilder = _DefaultRecordBatchBuilderPy
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **options, **kafka_client_options())
        try:
            await producer.start()
            for i in raw:
                r = records[i]
                metadata = await producer.send_and_wait(prefix + r.topic, value=r.value, key=r.key, headers=r.headers)
                placed[i] = (metadata.partition, metadata.offset)
        finally:
            await producer.stop()
            for m, builder in zip(patched, saved, strict=True):
                m.DefaultRecordBatchBuilder = builder
    return [(r, *placed[i]) for i, r in enumerate(records)]


def _expectations(
    prefix: str, placed: list[tuple[Planned, int, int]]
) -> tuple[dict[str, dict[str, tuple[str, int, int]]], dict[str, dict[tuple[str, int, int], str]], dict[str, set]]:
    """Per service: valid event id → where it must be applied; origin → letter reason; redelivered origins."""
    applied: dict[str, dict[str, tuple[str, int, int]]] = collections.defaultdict(dict)
    letters: dict[str, dict[tuple[str, int, int], str]] = collections.defaultdict(dict)
    repeats: dict[str, set] = collections.defaultdict(set)
    for record, partition, offset in placed:
        where = (prefix + record.topic, partition, offset)
        for service in record.consumers:
            if record.expect == "applied":
                assert record.event_id is not None
                applied[service][record.event_id] = where
            elif record.expect == "duplicate":
                repeats[service].add(where)
            else:
                letters[service][where] = record.expect
    return applied, letters, repeats


async def _settled(dsn: str, service: str, applied: dict, letters: dict) -> tuple[dict, dict]:
    conn = await asyncpg.connect(dsn)
    try:
        inbox = await conn.fetch(
            "SELECT event_id::text AS id, topic, kafka_partition AS p, kafka_offset AS o FROM hearth_inbox"
            " WHERE consumer = $1 AND event_id = ANY($2::uuid[])",
            service,
            list(applied),
        )
        rows = await conn.fetch(
            "SELECT origin_topic AS t, origin_partition AS p, origin_offset AS o, reason,"
            " published_at IS NOT NULL AS published FROM hearth_dead_letters WHERE consumer = $1",
            service,
        )
    finally:
        await conn.close()
    found_inbox = {r["id"]: (r["topic"], r["p"], r["o"]) for r in inbox}
    found_letters = {(r["t"], r["p"], r["o"]): (r["reason"], r["published"]) for r in rows}
    return found_inbox, found_letters


async def test_hostile_records_never_lose_block_or_forge(journey, infra, unique_name):
    started = time.monotonic()
    records = plan(HOSTILE, max_huge=MAX_HUGE)
    async with journey(Timings()) as run:
        pids = {name: s.proc.pid for name, s in run.stack.services.items() if s.proc is not None}
        prefix = run.stack.prefix
        placed = await _produce(infra.kafka_bootstrap, prefix, records)
        produced_at = time.monotonic()
        applied, letters, repeats = _expectations(prefix, placed)

        async def check() -> dict[str, list[str]]:
            problems: dict[str, list[str]] = {}
            for service in run.stack.services:
                dsn = run.stack.dsns[service]
                found_inbox, found_letters = await _settled(dsn, service, applied[service], letters[service])
                wrong = []
                for event_id, where in applied[service].items():
                    if found_inbox.get(event_id) != where:
                        wrong.append(f"valid {event_id} at {where}: inbox has {found_inbox.get(event_id)}")
                for where, reason in letters[service].items():
                    got = found_letters.get(where)
                    if got is None or got[0] != reason or not got[1]:
                        wrong.append(f"letter at {where}: expected {reason}, found {got}")
                for where in repeats[service]:
                    if where in found_letters:
                        wrong.append(f"a redelivery at {where} was lettered: {found_letters[where]}")
                ours = {w[0] for w in letters[service]} | {w[0] for w in applied[service].values()}
                for where, got in found_letters.items():
                    if where[0] in ours and where not in letters[service]:
                        wrong.append(f"unexpected letter at {where}: {got}")
                if wrong:
                    problems[service] = wrong
            return problems

        deadline = time.monotonic() + SETTLE_SECONDS
        problems = await check()
        while problems and time.monotonic() < deadline:
            await asyncio.sleep(2)
            problems = await check()
        settled_at = time.monotonic()
        detail = {s: [*p[:5], f"... {len(p)} in all"] for s, p in problems.items()}
        assert not problems, f"not settled as expected after {SETTLE_SECONDS:.0f}s: {json.dumps(detail, indent=1)}"

        # Positions: each service's database position covers every record we put on its topics.
        for service in run.stack.services:
            ends: dict[tuple[str, int], int] = {}
            for r, p, o in placed:
                if service in r.consumers:
                    ends[(prefix + r.topic, p)] = max(ends.get((prefix + r.topic, p), 0), o + 1)
            conn = await asyncpg.connect(run.stack.dsns[service])
            try:
                rows = await conn.fetch(
                    "SELECT topic, kafka_partition, next_offset FROM hearth_consumer_positions WHERE consumer = $1",
                    service,
                )
            finally:
                await conn.close()
            stored = {(r["topic"], r["kafka_partition"]): r["next_offset"] for r in rows}
            behind = {tp: (stored.get(tp), end) for tp, end in ends.items() if stored.get(tp, -1) < end}
            assert not behind, f"{service}: positions behind settled records: {behind}"

        restarted = {
            name: (pids[name], s.proc.pid if s.proc else None, s.alive)
            for name, s in run.stack.services.items()
            if not s.alive or s.proc is None or s.proc.pid != pids[name]
        }
        assert not restarted, f"services died or restarted: {restarted}"

    kinds = collections.Counter(r.kind for r in records)
    summary = {
        "hostile_records": sum(n for k, n in kinds.items() if k != "valid"),
        "valid_events": kinds["valid"],
        "by_kind": dict(sorted(kinds.items())),
        "bytes_produced": sum(len(r.value or b"") for r in records),
        "letters_expected": sum(len(v) for v in letters.values()),
        "valid_applications": sum(len(v) for v in applied.values()),
        "lost": 0,
        "seconds_to_produce": round(produced_at - started, 1),
        "seconds_to_settle": round(settled_at - produced_at, 1),
    }
    print(json.dumps(summary, indent=1))
    report = os.environ.get("HEARTH_HOSTILE_REPORT")
    if report:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(json.dumps(summary, indent=1) + "\n")
