"""The hop between two services: outbox commit → relay process → Kafka → inbox consumer process → effect."""

from __future__ import annotations

import functools

import asyncpg

from hearth.kit.testing.workers import EFFECTS_SQL

from .events import Events, Stager
from .harness import Bench
from .measure import pace, percentile, wait_until
from .raw_kafka import raw_latency


async def hop_latency(b: Bench, events: Events, batch: int) -> None:
    """Producer commit (outbox) → relay process → Kafka → inbox consumer process → effect committed."""
    limits_known = [b.value(f"inbox.{batch}"), b.value("outbox.relay"), b.value("outbox.stage.tx")]
    known = [v for v in limits_known if v]
    rate = b.args.hop_rate or b.args.load * (min(known) if known else 200.0)
    raw = functools.partial(raw_latency, b, rate, f"kafka.lat.{batch}")
    await b.attempt([f"kafka.lat.{batch}.p50", f"kafka.lat.{batch}.p99"], f"raw Kafka latency at {rate:,.0f}/s", raw)
    prefix = await b.topics(f"hop{batch}", dlq=True)
    producer_dsn = await b.database(f"hop{batch}_producer")
    consumer_dsn = await b.database(f"hop{batch}_consumer", extra_sql=EFFECTS_SQL)
    relay = b.worker("relay", "--dsn", producer_dsn, "--bootstrap", b.bootstrap, "--batch", str(b.args.relay_batch))
    consumer = b.worker(
        "consumer", "--dsn", consumer_dsn, "--bootstrap", b.bootstrap, "--prefix", prefix,
        "--group", f"bench-{b.run_id}-hop{batch}", "--batch", str(batch),
    )  # fmt: skip
    producer_conn = await asyncpg.connect(producer_dsn)
    consumer_conn = await asyncpg.connect(consumer_dsn)
    committed: dict[str, float] = {}
    try:
        stager = Stager(producer_conn, prefix, events, committed)
        await stager.stage(0, 20)

        async def applied(expect: int) -> bool:
            relay.check()
            consumer.check()
            return bool(await consumer_conn.fetchval("SELECT count(*) FROM test_effects") >= expect)

        await wait_until(lambda: applied(20), 90, "the warm-up events to be applied")
        warm_ids = set(committed)
        achieved = await pace(rate, b.sizes.latency_seconds, stager.stage)
        await wait_until(lambda: applied(len(committed)), 90, "every event to be applied")
        b.peak("mem.relay", relay.peak_rss_mib(), f"hop run, batch {batch}")
        b.peak(f"mem.consumer.{batch}", consumer.peak_rss_mib(), f"hop run at {achieved:,.0f}/s")
        rows = await consumer_conn.fetch("SELECT event_id::text AS id, applied_at FROM test_effects")
    finally:
        await relay.stop()
        await consumer.stop()
        await producer_conn.close()
        await consumer_conn.close()
    latencies = [r["applied_at"].timestamp() - committed[r["id"]] for r in rows if r["id"] not in warm_ids]
    note = f"at {achieved:,.0f}/s ({b.args.load:.0%} of max unless --hop-rate), {len(latencies):,} events"
    b.rates[f"inbox.{batch}.lat"] = achieved
    b.put(f"inbox.{batch}.lat.p50", percentile(latencies, 0.5) * 1000, note)
    b.put(f"inbox.{batch}.lat.p99", percentile(latencies, 0.99) * 1000, note)
