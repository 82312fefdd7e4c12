"""Raw aiokafka: produce and consume rates, and send → arrival latency at the rate of a kit latency run."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from hearth.kit.settings import kafka_client_options
from hearth.kit.topics import partitions_of

from .harness import Bench
from .measure import pace, percentile, wait_until


def kb_json(seq: int, sent: float = 0.0, size: int = 1024) -> bytes:
    """A JSON object of `size` bytes carrying a sequence number and the time it was sent."""
    body: dict[str, Any] = {"seq": seq, "sent": sent, "patient": f"pt-{seq % 1000:05d}", "kind": "bench.raw"}
    body["pad"] = ""
    body["pad"] = "x" * max(0, size - len(orjson.dumps(body)))
    return orjson.dumps(body)


async def raw_kafka(b: Bench, topic: str) -> None:
    """The best of --rounds timed rounds each way: a limit is what the machine can do, and a broker that has
    just started (JIT, page cache) or a burst of other work on the machine only ever makes a round slower."""
    await b.topic(topic)
    n, rounds = b.sizes.produce, b.args.rounds
    values = [kb_json(i) for i in range(n)]
    keys = [f"pt-{i % b.args.keys:05d}".encode() for i in range(n)]
    producer = AIOKafkaProducer(
        **kafka_client_options(),
        bootstrap_servers=b.bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=b.args.linger_ms,
    )
    await producer.start()
    rates = []
    try:
        warm = max(1, n // 5)  # untimed: metadata and the producer id first
        await asyncio.gather(*[await producer.send(topic, value=values[i], key=keys[i]) for i in range(warm)])
        for _ in range(rounds):
            started = time.perf_counter()
            futures = [await producer.send(topic, value=v, key=k) for v, k in zip(values, keys, strict=True)]
            await asyncio.gather(*futures)
            rates.append(n / (time.perf_counter() - started))
    finally:
        await producer.stop()
    note = f"{n:,} records, {b.args.partitions} partitions, linger {b.args.linger_ms} ms; best of {_rounds(rates)}"
    b.put("kafka.produce", max(rates), note)

    expect = warm + rounds * n
    rates = []
    for _ in range(rounds):
        consumer = AIOKafkaConsumer(**kafka_client_options(), bootstrap_servers=b.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = await partitions_of(b.bootstrap, [topic])
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            for tp in partitions:
                await consumer.position(tp)
            got = 0
            started = time.perf_counter()
            deadline = started + 120
            while got < expect and time.perf_counter() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                got += sum(len(records) for records in batch.values())
            rates.append(got / (time.perf_counter() - started))
        finally:
            await consumer.stop()
        if got < expect:
            raise TimeoutError(f"consumed {got} of {expect} records")
    b.put("kafka.consume", max(rates), f"{expect:,} records; best of {_rounds(rates)}")


def _rounds(rates: Sequence[float]) -> str:
    return " / ".join(f"{r:,.0f}" for r in rates)


async def raw_latency(b: Bench, rate: float, key: str) -> None:
    """Raw aiokafka at the rate of a kit latency run: producer (linger 0) → consumer, the send time in the value."""
    topic = f"bench-{b.run_id}-{key.replace('.', '-')}"
    await b.topic(topic)
    producer = AIOKafkaProducer(
        **kafka_client_options(), bootstrap_servers=b.bootstrap, enable_idempotence=True, acks="all", linger_ms=0
    )
    consumer = AIOKafkaConsumer(
        **kafka_client_options(), bootstrap_servers=b.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    await producer.start()
    await consumer.start()
    latencies: list[float] = []
    futures: list[asyncio.Future[Any]] = []
    try:
        partitions = await partitions_of(b.bootstrap, [topic])
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)
        await producer.send_and_wait(topic, value=kb_json(-1, time.time()), key=b"warm-up")
        reader = asyncio.create_task(_read_latencies(consumer, latencies))

        async def emit(first: int, count: int) -> None:
            for seq in range(first, first + count):
                value = kb_json(seq, time.time())
                futures.append(await producer.send(topic, value=value, key=f"pt-{seq % b.args.keys:05d}".encode()))

        achieved = await pace(rate, b.sizes.latency_seconds, emit)
        await asyncio.gather(*futures)
        total = len(futures)

        async def all_read() -> bool:
            return len(latencies) >= total

        try:
            await wait_until(all_read, 30, "raw records to arrive")
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    finally:
        await consumer.stop()
        await producer.stop()
    note = f"linger 0, acks=all, at {achieved:,.0f}/s, {len(latencies):,} records"
    b.put(f"{key}.p50", percentile(latencies, 0.5) * 1000, note)
    b.put(f"{key}.p99", percentile(latencies, 0.99) * 1000, note)


async def _read_latencies(consumer: AIOKafkaConsumer, out: list[float]) -> None:
    """Arrival time minus the send time carried in the value; the warm-up record (seq -1) is left out."""
    while True:
        batch = await consumer.getmany(timeout_ms=100)
        now = time.time()
        for records in batch.values():
            for r in records:
                value = orjson.loads(r.value)
                if value["seq"] >= 0:
                    out.append(now - value["sent"])
